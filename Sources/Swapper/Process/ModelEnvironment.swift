/// The environment a model server starts with: what any program needs to run (`PATH`, `HOME`,
/// `LANG`, `TMPDIR`, as the guardian has them) and what the model's own `env:` lists — nothing
/// else of the guardian's.
///
/// The guardian's environment holds the mesh secret (`DAGI_MESH_SECRET`), the agents' keys
/// (`DAGI_KEY_*`) and provider keys. A model server is third-party code, often with a way to
/// show its environment; it has no business holding them. Anything else a server needs
/// (`CUDA_VISIBLE_DEVICES`, `LD_LIBRARY_PATH`…) goes in the model's `env:`.
enum ModelEnvironment {
    /// Taken from the guardian's environment when set there.
    static let inherited = ["PATH", "HOME", "LANG", "TMPDIR"]

    /// `model` (already macro-expanded) wins over what is inherited.
    static func make(guardian: [String: String], model: [String: String]) -> [String: String] {
        var environment: [String: String] = [:]
        for name in inherited {
            if let value = guardian[name] { environment[name] = value }
        }
        if environment["PATH"] == nil { environment["PATH"] = "/usr/bin:/bin" }
        environment.merge(model) { _, own in own }
        return environment
    }
}
