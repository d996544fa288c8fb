import Foundation
import MeshCore

/// GGUF files served with no config at all: every `*.gguf` in the node's models folder
/// (`$DAGI_HOME/models`) and in `swapper.models_dir` becomes a Swapper model named after its
/// file, started with llama-server on a default command. Ollama's first run ends in a chat;
/// dropping a file in a folder is our equivalent of `ollama pull`.
///
/// Configured models win: a file whose name or path a configured model already has is left to
/// that model's own command.
public struct ModelFolder: Sendable {
    /// The folders to read, in order; a name found twice keeps its first file.
    public let directories: [String]

    public init(directories: [String]) {
        self.directories = directories
    }

    /// What reading the folders found: the models to add and why other files were left out.
    public struct Discovery: Sendable {
        public var models: [SwapperModelConfig] = []
        public var skipped: [(file: String, reason: String)] = []
    }

    /// The GGUF files of every folder as models of `config`, started by `llamaServer`.
    public func discover(adding config: SwapperConfig, llamaServer: String?) -> Discovery {
        var discovery = Discovery()
        var taken = Set(config.models.keys)
        for model in config.models.values { taken.formUnion(model.aliases) }
        let configuredPaths = Set(config.models.values.compactMap { $0.modelPath.map(Self.canonical) })
        for directory in directories {
            for file in Self.ggufFiles(in: directory) {
                let path = directory + "/" + file
                if configuredPaths.contains(Self.canonical(path)) { continue }
                guard let name = Self.modelName(forFile: file) else {
                    discovery.skipped.append((path, "its name cannot be a model name (letters, digits, '.', '-', '_'; at most 64)"))
                    continue
                }
                guard !taken.contains(name) else {
                    discovery.skipped.append((path, "a model named \(name) is already configured"))
                    continue
                }
                guard let llamaServer else {
                    discovery.skipped.append((path, "no llama-server found (set DAGI_LLAMA_SERVER, or put llama-server on PATH)"))
                    continue
                }
                guard let size = ModelFile.size(path), size > 0 else {
                    discovery.skipped.append((path, "the file is empty or unreadable"))
                    continue
                }
                let memory = Self.memoryEstimate(fileSize: size)
                if let budget = config.memoryBudget, memory.bytes > budget.bytes {
                    discovery.skipped.append((path, "it needs about \(memory) and memory_budget is \(budget)"))
                    continue
                }
                var model = SwapperModelConfig(cmd: Self.defaultCommand(llamaServer: llamaServer), modelPath: path, memory: memory)
                model.name = name
                taken.insert(name)
                discovery.models.append(model)
            }
        }
        return discovery
    }

    /// The command a discovered model starts with: loopback only, named after the model (so
    /// answers say `"model": "NAME"`, not the file's path), a context of 4,096 tokens and
    /// as many threads as cores up to 8 — past that, token generation is bound by memory
    /// bandwidth and more threads only contend.
    static func defaultCommand(llamaServer: String, cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> String {
        let threads = min(max(cores, 1), 8)
        return "\(ShellWord.quoted(llamaServer)) -m ${MODEL_PATH} --host 127.0.0.1 --port ${PORT} --alias ${MODEL_ID} -c 4096 -t \(threads) --no-webui"
    }

    /// Weights are mapped whole, plus the KV cache and compute buffers of a 4,096-token
    /// context: a fifth of the file and 128 MiB cover the small and mid-size models measured
    /// (SmolLM2-135M: a 92 MB file, 223 MB resident); the measured size replaces it once loaded.
    static func memoryEstimate(fileSize: Int64) -> ByteSize {
        let capped = min(fileSize, 1 << 48)
        return ByteSize(bytes: capped + capped / 5 + (128 << 20))
    }

    /// `SmolLM2-135M-Instruct.Q4_1.gguf` → `SmolLM2-135M-Instruct.Q4_1`; spaces become `-`;
    /// a split model's first part names the whole (`qwen-00001-of-00003.gguf` → `qwen`).
    static func modelName(forFile file: String) -> String? {
        guard file.lowercased().hasSuffix(".gguf") else { return nil }
        var stem = String(file.dropLast(5)).replacingOccurrences(of: " ", with: "-")
        if let split = stem.range(of: #"-\d{5}-of-\d{5}$"#, options: .regularExpression) { stem.removeSubrange(split) }
        return MeshName.isValid(stem) ? stem : nil
    }

    /// The `.gguf` files directly in `directory`, sorted; split models' later parts
    /// (`-00002-of-00003.gguf`) are loaded through their first and not listed.
    static func ggufFiles(in directory: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.filter { name in
            guard name.lowercased().hasSuffix(".gguf"), !name.hasPrefix(".") else { return false }
            if let range = name.range(of: #"-\d{5}-of-\d{5}\.gguf$"#, options: [.regularExpression, .caseInsensitive]) {
                return name[range].hasPrefix("-00001-")
            }
            return true
        }.sorted()
    }

    private static func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
    }
}
