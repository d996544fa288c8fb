import Testing
@testable import MeshCore

@Suite struct ConfigValueTests {
    @Test(arguments: [
        ("500ms", 500), ("10s", 10_000), ("5m", 300_000), ("1h30m", 5_400_000), ("2d", 172_800_000), ("30", 30_000),
        ("1.5s", 1500),
    ] as [(String, Int64)])
    func parsesDurations(text: String, ms: Int64) {
        #expect(ConfigDuration(parsing: text)?.milliseconds == ms)
    }

    @Test(arguments: ["", "fast", "10x", "-5s", "s", "5 m"])
    func rejectsBadDurations(text: String) {
        #expect(ConfigDuration(parsing: text) == nil)
    }

    @Test func printsDurationsShortest() {
        #expect(ConfigDuration.seconds(90).description == "90s")
        #expect(ConfigDuration.hours(1).description == "1h")
        #expect(ConfigDuration(milliseconds: 1500).description == "1500ms")
    }

    @Test(arguments: [
        ("300MiB", 314_572_800), ("8GiB", 8_589_934_592), ("1.5GB", 1_500_000_000), ("4096", 4096), ("2K", 2048),
    ] as [(String, Int64)])
    func parsesSizes(text: String, bytes: Int64) {
        #expect(ByteSize(parsing: text)?.bytes == bytes)
    }

    @Test(arguments: ["", "big", "10XB", "-1MiB"])
    func rejectsBadSizes(text: String) {
        #expect(ByteSize(parsing: text) == nil)
    }

    @Test func parsesListenAddresses() {
        #expect(HostPort(parsing: "127.0.0.1:7007") == HostPort(host: "127.0.0.1", port: 7007))
        #expect(HostPort(parsing: "[::1]:80") == HostPort(host: "::1", port: 80))
        #expect(HostPort(parsing: "localhost") == nil)
        #expect(HostPort(parsing: "h:99999") == nil)
        #expect(HostPort(host: "0.0.0.0", port: 7007).baseURL(advertisedHost: "box") == "http://box:7007")
    }

    @Test func validatesURLs() {
        #expect(HTTPURL(parsing: "http://127.0.0.1:11434/")?.base == "http://127.0.0.1:11434")
        #expect(HTTPURL(parsing: "https://api.openai.com/v1")?.appending("/models") == "https://api.openai.com/v1/models")
        #expect(HTTPURL(parsing: "localhost:11434") == nil)
        #expect(HTTPURL(parsing: "ftp://x") == nil)
        #expect(HTTPURL(parsing: "http://") == nil)
    }
}
