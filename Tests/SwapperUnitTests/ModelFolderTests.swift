import Foundation
import MeshCore
import Testing
@testable import Swapper

/// GGUF files in the models folders become models, with names, commands and memory estimates
/// a newcomer would expect, and never shadow a configured model.
@Suite struct ModelFolderTests {
    private func folder(_ files: [String: Int]) throws -> String {
        let directory = NSTemporaryDirectory() + "dagi-models-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, size) in files {
            FileManager.default.createFile(atPath: directory + "/" + name, contents: Data(count: size))
        }
        return directory
    }

    @Test func everyGGUFFileIsAModelNamedAfterIt() throws {
        let directory = try folder([
            "smollm2.gguf": 1000, "Qwen2.5 0.5B.Q4.gguf": 10, "notes.txt": 10, ".hidden.gguf": 10, "empty.gguf": 0,
            "big-00001-of-00002.gguf": 10, "big-00002-of-00002.gguf": 10, String(repeating: "x", count: 70) + ".gguf": 10,
        ])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let found = ModelFolder(directories: [directory]).discover(adding: SwapperConfig(), llamaServer: "/opt/llama server/llama-server")
        #expect(found.models.map(\.name).sorted() == ["Qwen2.5-0.5B.Q4", "big", "smollm2"])
        let smol = try #require(found.models.first { $0.name == "smollm2" })
        #expect(smol.modelPath == directory + "/smollm2.gguf")
        #expect(smol.memory == ModelFolder.memoryEstimate(fileSize: 1000))
        // The path is quoted, the server named after the model, loopback only.
        let argv = CommandSplitter.split(smol.cmd)
        #expect(argv.first == "/opt/llama server/llama-server")
        #expect(argv.contains("--alias") && argv[argv.firstIndex(of: "--alias")! + 1] == "${MODEL_ID}")
        #expect(argv[argv.firstIndex(of: "--host")! + 1] == "127.0.0.1")
        #expect(Set(found.skipped.map { ($0.file as NSString).lastPathComponent }) == ["empty.gguf", String(repeating: "x", count: 70) + ".gguf"])
    }

    @Test func configuredModelsWinAndNothingIsServedWithoutLlamaServer() throws {
        let directory = try folder(["smollm2.gguf": 100, "gemma.gguf": 100, "tiny.gguf": 100])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var config = SwapperConfig()
        var configured = SwapperModelConfig(cmd: "llama-server -m ${MODEL_PATH} --port ${PORT}", modelPath: directory + "/gemma.gguf", aliases: ["tiny"])
        configured.name = "my-gemma"
        config.models["my-gemma"] = configured
        config.models["smollm2"] = SwapperModelConfig(cmd: "llama-server --port ${PORT}")
        let found = ModelFolder(directories: [directory]).discover(adding: config, llamaServer: "/usr/bin/llama-server")
        // gemma.gguf is my-gemma's file; smollm2 and tiny are taken names.
        #expect(found.models.isEmpty)
        #expect(found.skipped.count == 2)

        let none = ModelFolder(directories: [directory]).discover(adding: SwapperConfig(), llamaServer: nil)
        #expect(none.models.isEmpty)
        #expect(none.skipped.count == 3 && none.skipped.allSatisfy { $0.reason.contains("llama-server") })
    }

    @Test func aModelLargerThanTheBudgetIsLeftOut() throws {
        let directory = try folder(["huge.gguf": 4096])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var config = SwapperConfig()
        config.memoryBudget = ByteSize(bytes: 1 << 20)
        let found = ModelFolder(directories: [directory]).discover(adding: config, llamaServer: "/usr/bin/llama-server")
        #expect(found.models.isEmpty)
        #expect(found.skipped.first?.reason.contains("memory_budget") == true)
    }
}
