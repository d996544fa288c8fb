import Foundation
import MeshCore

extension SwapperConfig {
    /// Reads a file holding only the swapper section, either under a `swapper:` key or bare.
    public static func load(path: String) throws -> SwapperConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, issues: [.init(path: "", line: nil, message: "cannot read the file: \(error.localizedDescription)")])
        }
        return try YAMLConfigDecoder.decode(SwapperFile.self, from: text, file: path).config
    }
}

/// A stand-alone swapper config file: `swapper: {...}`, or the section's keys at the top.
struct SwapperFile: Decodable {
    let config: SwapperConfig

    enum CodingKeys: String, CodingKey { case swapper }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if c.contains(.swapper) {
            config = try c.decode(SwapperConfig.self, forKey: .swapper)
        } else {
            config = try SwapperConfig(from: decoder)
        }
    }
}
