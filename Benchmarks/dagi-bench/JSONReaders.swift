import ArgumentParser
import Foundation
import MeshCore
import MeshHTTP
import NIOCore

/// Reading the routing fields (`model`, `stream`) of request bodies of 1 KB, 100 KB and 4 MB
/// three ways, in one run: the router's own reader (RequestFields over JSONParser, which
/// validates the whole body and builds only those fields), Foundation's JSONDecoder into a
/// two-field Decodable, and JSONSerialization (builds everything). Prints the median time per
/// body and the ratios, for scripts/bench-json.
struct JSONReaders: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "json-readers")

    @Option(help: "Repetitions per body size (the median is reported).") var repetitions = 50

    struct Routing: Decodable {
        var model: String?
        var stream: Bool?
    }

    /// A chat request of about `size` bytes: many messages of prose, a tool, the model last
    /// (the reader must walk the whole body either way).
    static func body(size: Int) -> [UInt8] {
        let sentence = "The quick brown fox jumps over the lazy dog, and the \\\"dog\\\" does not mind at all. "
        var messages: [String] = []
        var total = 0
        while total < size {
            let text = String(repeating: sentence, count: 8)
            messages.append(#"{"role":"user","content":"\#(text)"}"#)
            total += text.utf8.count + 30
        }
        let json = #"{"messages":[\#(messages.joined(separator: ","))],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],"temperature":0.2,"stream":true,"model":"qwen2.5:7b"}"#
        return Array(json.utf8)
    }

    func run() throws {
        print("size       ours (RequestFields)   JSONDecoder           JSONSerialization     decoder/ours  serialization/ours")
        for size in [1 << 10, 100 << 10, 4 << 20] {
            let bytes = Self.body(size: size)
            let buffer = ByteBuffer(bytes: bytes)
            let data = Data(bytes)
            let decoder = JSONDecoder()
            let ours = median {
                let fields = try! RequestFields.read(buffer)
                precondition(fields.model == "qwen2.5:7b" && fields.stream == true)
            }
            let foundation = median {
                let fields = try! decoder.decode(Routing.self, from: data)
                precondition(fields.model == "qwen2.5:7b" && fields.stream == true)
            }
            let serialization = median {
                let object = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
                precondition(object["model"] as? String == "qwen2.5:7b")
            }
            func show(_ seconds: Double) -> String {
                let time = seconds < 1e-3 ? String(format: "%7.1f µs", seconds * 1e6) : String(format: "%7.2f ms", seconds * 1e3)
                return time + String(format: " %7.0f MB/s", Double(bytes.count) / seconds / 1e6)
            }
            let label = size >= 1 << 20 ? "\(size >> 20) MB" : "\(size >> 10) KB"
            print(label.padding(toLength: 11, withPad: " ", startingAt: 0) + show(ours) + "   " + show(foundation) + "   " + show(serialization)
                + String(format: "   %6.2f×       %6.2f×", foundation / ours, serialization / ours))
        }
    }

    private func median(_ body: () -> Void) -> Double {
        body()
        var times: [Double] = []
        for _ in 0..<repetitions {
            let start = ContinuousClock.now
            body()
            times.append((ContinuousClock.now - start).inSeconds)
        }
        return times.sorted()[times.count / 2]
    }
}
