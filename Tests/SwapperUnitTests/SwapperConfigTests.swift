import Foundation
import MeshCore
import MeshHTTP
import Testing
@testable import Swapper

@Suite struct SwapperConfigTests {
    func decode(_ yaml: String) throws -> SwapperConfig {
        try YAMLConfigDecoder.decode(SwapperFile.self, from: yaml, file: "swapper.yaml").config
    }

    func issue(_ yaml: String) -> ConfigError.Issue? {
        do {
            _ = try decode(yaml)
            return nil
        } catch let error as ConfigError {
            return error.issues.first
        } catch {
            return nil
        }
    }

    @Test func parsesTheDocumentedShape() throws {
        let model = FileManager.default.temporaryDirectory.appendingPathComponent("m-\(UUID()).gguf").path
        FileManager.default.createFile(atPath: model, contents: Data([1, 2, 3]))
        defer { try? FileManager.default.removeItem(atPath: model) }
        let config = try decode("""
            swapper:
              start_port: 5800
              health_check_timeout: 60s
              memory_budget: 8GiB
              models:
                smollm2:
                  cmd: sh -c 'exec sleep 1' ${MODEL_PATH} --port ${PORT} -t 1
                  model_path: \(model)
                  memory: 300MiB
                  ttl: 300s
                  aliases: [tiny]
                  env: ["A=1", "B=two=2"]
                gemma3-270m:
                  cmd: sh ${PORT}
              groups:
                small: { members: [smollm2, gemma3-270m], exclusive: true }
            """)
        #expect(config.startPort == 5800)
        #expect(config.memoryBudget == .gibibytes(8))
        let smol = try #require(config.models["smollm2"])
        #expect(smol.name == "smollm2")
        #expect(smol.memory == .mebibytes(300))
        #expect(smol.ttl == .seconds(300))
        #expect(smol.env == ["A": "1", "B": "two=2"])
        #expect(smol.proxy == "http://127.0.0.1:${PORT}")
        #expect(smol.checkEndpoint == "/health")
        #expect(config.model(named: "tiny")?.name == "smollm2")
        #expect(config.groups["small"]?.exclusive == true)
    }

    @Test func reportsBadConfigByKey() {
        let cases: [(String, String)] = [
            ("models:\n  m:\n    cmd: sh ${PORT} ${NOPE}\n", "unknown macro ${NOPE}"),
            ("models:\n  m:\n    cmd: no-such-binary-anywhere ${PORT}\n", "command not found: no-such-binary-anywhere"),
            ("models:\n  m:\n    cmd: sh\n", "must pass ${PORT}"),
            ("models:\n  m:\n    cmd: sh ${PORT}\n    model_path: /nonexistent/x.gguf\n", "does not exist"),
            ("models:\n  m:\n    cmd: sh ${PORT}\ngroups:\n  g: { members: [m, ghost] }\n", "\"ghost\", which is not a model"),
            ("models:\n  a:\n    cmd: sh ${PORT}\n    aliases: [b]\n  b:\n    cmd: sh ${PORT}\n", "alias \"b\""),
            ("memory_budget: 1GiB\nmodels:\n  m:\n    cmd: sh ${PORT}\n    memory: 2GiB\n", "needs 2GiB"),
            ("models:\n  m:\n    cmd: sh ${PORT}\n    ttl: soon\n", "invalid duration"),
            ("models:\n  m:\n    cmd: sh ${PORT}\n    concurency: 2\n", "unknown key \"concurency\""),
        ]
        for (yaml, expected) in cases {
            let found = issue(yaml)
            #expect(found?.message.contains(expected) == true, "\(yaml) -> \(String(describing: found))")
            #expect(found?.line != nil, "\(yaml) has a line")
        }
    }

    @Test func slotsAreReadFromConcurrencyOrTheCommand() {
        #expect(SwapperModelConfig(cmd: "llama-server -m m.gguf --port ${PORT} -np 3").declaredSlots == 3)
        #expect(SwapperModelConfig(cmd: "llama-server --parallel=2 --port ${PORT}").declaredSlots == 2)
        #expect(SwapperModelConfig(cmd: "llama-server --parallel 0 --port ${PORT}").declaredSlots == nil)
        #expect(SwapperModelConfig(cmd: "llama-server -np 99999 --port ${PORT}").declaredSlots == nil)
        #expect(SwapperModelConfig(cmd: "llama-server --port ${PORT} -np").declaredSlots == nil)
        #expect(SwapperModelConfig(cmd: "llama-server --port ${PORT}").declaredSlots == nil)
        var limited = SwapperModelConfig(cmd: "llama-server -np 4 --port ${PORT}")
        limited.concurrency = 1
        #expect(limited.declaredSlots == 1)
        limited.concurrency = 8
        #expect(limited.declaredSlots == 4)
        var gated = SwapperModelConfig(cmd: "llama-server --port ${PORT}")
        gated.concurrency = 2
        #expect(gated.declaredSlots == 2)
    }

    @Test func splitsCommandsLikeAShell() {
        #expect(CommandSplitter.split("llama-server -m '/a b/c.gguf' --port ${PORT}") == ["llama-server", "-m", "/a b/c.gguf", "--port", "${PORT}"])
        #expect(CommandSplitter.split("a \\\n  b \"c d\" e\\ f") == ["a", "b", "c d", "e f"])
        #expect(CommandSplitter.split("sh -c 'echo \"hi\"; exit 3'") == ["sh", "-c", "echo \"hi\"; exit 3"])
        #expect(CommandSplitter.split("  ") == [])
    }

    @Test func expandsMacros() throws {
        var model = SwapperModelConfig(cmd: "x", modelPath: "/m.gguf")
        model.name = "smol"
        model.macros = ["THREADS": "2", "SHARED": "model"]
        let macros = Macros(global: ["SHARED": "global", "BIN": "/opt/llama"], model: model, port: 5801)
        #expect(try macros.expand("${BIN} -m ${MODEL_PATH} --port ${PORT} -t ${THREADS} ${SHARED} ${MODEL_ID}") == "/opt/llama -m /m.gguf --port 5801 -t 2 model smol")
        #expect(throws: Macros.UnknownMacro.self) { try macros.expand("${MISSING}") }
    }

    @Test func readsQuantizationFromFileNames() {
        #expect(ModelFile.quantization("/m/SmolLM2-135M-Instruct.Q4_1.gguf") == "Q4_1")
        #expect(ModelFile.quantization("/m/gemma-3-270m-q4_k_m.gguf") == "Q4_K_M")
        #expect(ModelFile.quantization("/m/model-f16.gguf") == "F16")
        #expect(ModelFile.quantization("/m/plain.gguf") == nil)
    }
}

@Suite struct OutputBufferTests {
    @Test func keepsTheLastLines() {
        let buffer = OutputBuffer(capacity: 3)
        buffer.append(ArraySlice("one\ntwo\nthree\nfour\nfi".utf8))
        #expect(buffer.tail() == ["two", "three", "four", "fi"])
        buffer.finish()
        #expect(buffer.tail() == ["three", "four", "fi"])
        #expect(buffer.tail(1) == ["fi"])
    }
}
