import Foundation
import MeshCore
import Testing

/// Nodes with no config find llama-server where the project's scripts put it.
@Suite struct LlamaServerLocatorTests {
    private func folder() throws -> String {
        let directory = NSTemporaryDirectory() + "dagi-cache-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func llamaServerIsFoundInTheScriptsCache() throws {
        let cache = try folder()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        #expect(LlamaServerLocator.find(environment: ["PATH": "/nonexistent", "DAGI_CACHE": cache]) == nil)
        let bin = cache + "/llama-server-11434.0.0/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: bin + "/llama-server", contents: Data(), attributes: [.posixPermissions: 0o755])
        #expect(LlamaServerLocator.find(environment: ["PATH": "/nonexistent", "DAGI_CACHE": cache]) == bin + "/llama-server")
        // An explicit DAGI_LLAMA_SERVER that is not there finds nothing rather than another one.
        #expect(LlamaServerLocator.find(environment: ["DAGI_LLAMA_SERVER": "/nonexistent/llama-server", "DAGI_CACHE": cache]) == nil)
    }
}
