import Foundation

/// Facts about a model file for the store: its size and the quantization in its name. Read once
/// per model when the Swapper registers, never on a state change.
enum ModelFile {
    static func size(_ path: String) -> Int64? {
        // Through symlinks: a models folder often links to a file kept elsewhere.
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return (try? FileManager.default.attributesOfItem(atPath: target)[.size] as? NSNumber)??.int64Value
    }

    /// `Q4_1`, `Q4_K_M`, `F16`… as written in GGUF file names. A regex literal: checked and
    /// compiled by the compiler, not at run time.
    static func quantization(_ path: String) -> String? {
        let name = (path as NSString).lastPathComponent.uppercased()
        let pattern = #/(IQ\d[_A-Z0-9]*|Q\d(?:_[0-9A-Z]+)*|F16|F32|BF16)(?=\.GGUF$|[-_.])/#
        guard let match = name.firstMatch(of: pattern) else { return nil }
        return String(match.1)
    }
}
