// Fuzz target: `YAMLConfigDecoder` with the node's real configuration tree, `NodeConfig`
// (every section: node, ollama, metrics, agents, mesh, swapper, router), so every scalar type
// the config has is reached: ConfigDuration, ByteSize, HTTPURL, HostPort, numbers, booleans.
//
// The input is the file's text. A config error is fine (and its message is rendered, as
// start-up prints it); trapping is not. scripts/fuzz runs this in an empty directory, since a
// config may name other files (`swapper: FILE`, `node.tls`) relative to where it is read.
import MeshCore
import NodeGuardian

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzYAMLConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        _ = try YAMLConfigDecoder.decode(NodeConfig.self, from: text, file: "fuzz.yaml")
    } catch {
        _ = "\(error)"
    }
    return 0
}
