import Foundation

/// A model that serves one request at a time (mock_upstream.py, `concurrency: 1`), for tests of
/// who waits behind whom: it writes the order it was given work into a file, and a request can
/// be held until ``release()``.
struct OneSlotModel {
    let order: String
    let releaseFile: String

    init(_ root: TemporaryDirectory) {
        order = root.path + "/order"
        releaseFile = root.path + "/release"
    }

    /// The `swapper:` section serving it as `one-slot`.
    var swapper: String {
        let script = RealModels.repository + "/scripts/fixtures/mock_upstream.py"
        return """
            swapper:
              start_port: \(20000 + Int.random(in: 0..<20000))
              models:
                one-slot:
                  cmd: python3 \(script) --port ${PORT} --mode ok --name one-slot --order-file \(order)
                  concurrency: 1
            """
    }

    /// A chat request for it whose last message is `text`; `held` until ``release()``.
    func body(_ text: String, held: Bool = false) -> String {
        #"{"model":"one-slot","max_tokens":4,"mock_hold_until":"\#(held ? releaseFile : "")","messages":[{"role":"user","content":"\#(text)"}]}"#
    }

    /// The last messages of the requests it was given, in order.
    func given() -> [String] { ((try? String(contentsOfFile: order, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }

    /// Lets held requests go.
    func release() { FileManager.default.createFile(atPath: releaseFile, contents: nil) }
}
