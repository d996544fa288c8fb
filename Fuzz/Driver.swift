// A stand-in for libFuzzer where the toolchain has none (Xcode's): scripts/fuzz links it with a
// target instead when `-sanitize=fuzzer` cannot link. It runs every input of the corpus
// directories it is given, then random mutations of them until -max_total_time, without
// coverage guidance, and answers in libFuzzer's words: the same final stats, the same
// "Test unit written to" line for a crashing input, which it writes from a signal handler.
import Foundation

@_silgen_name("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt

/// What a crash handler needs, prepared before any input runs (a handler must not allocate).
nonisolated(unsafe) private var current: UnsafeMutablePointer<UInt8>!
nonisolated(unsafe) private var currentCapacity = 0
nonisolated(unsafe) private var currentSize = 0
nonisolated(unsafe) private var crashPath: UnsafeMutablePointer<CChar>?

@main enum Driver {
    static func main() {
        var seconds = 20.0, maxLength = 4096, prefix = "./"
        var directories: [String] = []
        for argument in CommandLine.arguments.dropFirst() {
            if let value = argument.value(of: "-max_total_time=") { seconds = Double(value) ?? seconds }
            else if let value = argument.value(of: "-max_len=") { maxLength = Int(value) ?? maxLength }
            else if let value = argument.value(of: "-artifact_prefix=") { prefix = value }
            else if !argument.hasPrefix("-") { directories.append(argument) }
        }
        currentCapacity = max(maxLength, 1 << 20)
        current = .allocate(capacity: currentCapacity)
        crashPath = strdup(prefix + "crash")
        for deadly in [SIGILL, SIGTRAP, SIGABRT, SIGSEGV, SIGBUS, SIGFPE] { signal(deadly, onCrash) }

        // A file argument is replayed alone, as libFuzzer does.
        var isDirectory: ObjCBool = false
        if directories.count == 1, FileManager.default.fileExists(atPath: directories[0], isDirectory: &isDirectory), !isDirectory.boolValue {
            run(Array(FileManager.default.contents(atPath: directories[0]) ?? Data()))
            print("Executed \(directories[0])")
            return
        }
        var corpus: [[UInt8]] = []
        for directory in directories {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                if let data = FileManager.default.contents(atPath: directory + "/" + name) { corpus.append(Array(data.prefix(maxLength))) }
            }
        }
        if corpus.isEmpty { corpus = [[]] }
        let start = Date()
        var runs = 0
        for input in corpus { run(input); runs += 1 }
        var random = SystemRandomNumberGenerator()
        while Date().timeIntervalSince(start) < seconds {
            var input = corpus.randomElement(using: &random)!
            for _ in 0..<Int.random(in: 1...4, using: &random) { mutate(&input, splicing: corpus, maxLength: maxLength, using: &random) }
            run(input)
            runs += 1
        }
        let elapsed = max(Date().timeIntervalSince(start), 0.001)
        print("#\(runs) DONE corp: \(corpus.count)/\(corpus.reduce(0) { $0 + $1.count })b (no coverage: libFuzzer stand-in)")
        print("stat::number_of_executed_units: \(runs)")
        print("stat::average_exec_per_sec: \(Int(Double(runs) / elapsed))")
    }

    static func run(_ input: [UInt8]) {
        // The target reads the copy the crash handler would write.
        currentSize = min(input.count, currentCapacity)
        for (index, byte) in input.prefix(currentSize).enumerated() { current[index] = byte }
        _ = testOneInput(current, currentSize)
    }

    /// One of libFuzzer's simpler mutations.
    static func mutate(_ input: inout [UInt8], splicing corpus: [[UInt8]], maxLength: Int, using random: inout some RandomNumberGenerator) {
        let interesting: [[UInt8]] = [[0], [0xff], [0x7f], [0x80], [0xff, 0xff, 0xff, 0xff], Array("\"".utf8), Array("\n".utf8), Array("9999999999999999999".utf8)]
        let at = input.isEmpty ? 0 : Int.random(in: 0..<input.count, using: &random)
        switch Int.random(in: 0..<6, using: &random) {
        case 0 where !input.isEmpty: input[at] ^= 1 << UInt8.random(in: 0..<8, using: &random)
        case 1 where !input.isEmpty: input[at] = UInt8.random(in: 0...255, using: &random)
        case 2: input.insert(contentsOf: interesting.randomElement(using: &random)!, at: at)
        case 3 where !input.isEmpty: input.removeSubrange(at..<min(input.count, at + Int.random(in: 1...8, using: &random)))
        case 4 where !input.isEmpty: input.insert(contentsOf: input[at..<min(input.count, at + Int.random(in: 1...16, using: &random))], at: at)
        default:
            let other = corpus.randomElement(using: &random)!
            if !other.isEmpty { input = Array(input[..<at]) + other[Int.random(in: 0..<other.count, using: &random)...] }
        }
        if input.count > maxLength { input.removeLast(input.count - maxLength) }
    }
}

/// Writes the input that was running, says where, and dies of the same signal. Only
/// async-signal-safe calls: nothing here allocates.
private func onCrash(_ number: Int32) {
    guard let path = crashPath else { _exit(1) }
    let file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    if file >= 0 {
        _ = write(file, current, currentSize)
        close(file)
    }
    let message: StaticString = "\n==ERROR: deadly signal\nTest unit written to "
    _ = message.withUTF8Buffer { write(2, $0.baseAddress, $0.count) }
    _ = write(2, path, strlen(path))
    _ = write(2, "\n", 1)
    signal(number, SIG_DFL)
    raise(number)
}

extension String {
    fileprivate func value(of flag: String) -> String? { hasPrefix(flag) ? String(dropFirst(flag.count)) : nil }
}
