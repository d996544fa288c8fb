import MeshCore

extension SwapperConfig: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension SwapperConfig.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        let d = SwapperConfig()
        switch self {
        case .startPort: return ("\(d.startPort)", "first port tried for ${PORT}")
        case .healthCheckTimeout: return ("\(d.healthCheckTimeout)", "how long a starting model server may take to answer its check endpoint")
        case .memoryBudget: return (nil, "memory all loaded models may use together; idle ones are evicted for more")
        case .globalTTL: return (nil, "idle time after which a model without its own ttl is unloaded")
        case .stopTimeout: return ("\(d.stopTimeout)", "SIGTERM-to-SIGKILL grace when stopping a model server")
        case .swapTimeout: return ("\(d.swapTimeout)", "how long a model being swapped out keeps serving, then may finish")
        case .swapLinger: return ("\(d.swapLinger)", "idle time that ends a swapped-out model's run")
        case .queueLimit: return ("\(d.queueLimit)", "requests waiting per model before 429 model_queue_full")
        case .logLines: return ("\(d.logLines)", "output lines kept per model for /swapper/logs")
        case .macros: return ("{}", "${NAME} values for model commands")
        case .modelsDir: return (nil, "a folder whose .gguf files are models too (besides $DAGI_HOME/models)")
        case .models: return ("{}", "model servers by name (see swapper.models.NAME)")
        case .groups: return ("{}", "groups of models by name (see swapper.groups.NAME)")
        }
    }
}

extension SwapperModelConfig: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension SwapperModelConfig.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        let d = SwapperModelConfig(cmd: "")
        switch self {
        case .cmd: return (nil, "the command line that starts the server (required; ${PORT}, ${MODEL_PATH}, ${MODEL_ID} and macros expand)")
        case .modelPath: return (nil, "the model file, ${MODEL_PATH} (must exist)")
        case .proxy: return (d.proxy, "where its requests go")
        case .checkEndpoint: return (d.checkEndpoint, "polled until it answers 200 after a start")
        case .ttl: return (nil, "idle time after which it is unloaded")
        case .aliases: return ("[]", "other names it answers to")
        case .env: return ("{}", "its environment, besides PATH, HOME, LANG and TMPDIR (a mapping or a list of NAME=value)")
        case .memory: return (nil, "memory estimate until the process's real size is measured")
        case .concurrency: return (nil, "requests it serves at once; more wait in the queue")
        case .macros: return ("{}", "its own ${NAME} values")
        }
    }
}

extension SwapperGroupConfig: ConfigDocumented {
    public static var configKeys: [ConfigKeyDoc] { CodingKeys.docs }
}

extension SwapperGroupConfig.CodingKeys: DocumentedKey {
    var doc: (default: String?, meaning: String) {
        let d = SwapperGroupConfig(members: [])
        switch self {
        case .members: return (nil, "the models of the group (required)")
        case .exclusive: return ("\(d.exclusive)", "at most one member loaded at a time")
        case .persistent: return ("\(d.persistent)", "members are never evicted for other models (their ttl still applies)")
        }
    }
}
