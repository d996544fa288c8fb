import MeshHTTP
import Testing

/// The reader of `POST /v1/files` uploads: the parts an SDK sends, and bodies that are not forms.
@Suite struct MultipartFormTests {
    @Test func readsTheFormOpenAIsSDKSends() throws {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.jsonl\"\r\nContent-Type: application/octet-stream\r\n\r\nline 1\r\nline 2\r\n--XyZ--\r\n"
        let form = try MultipartForm(body: Array(body.utf8), contentType: "multipart/form-data; boundary=XyZ")
        #expect(form.parts.map(\.name) == ["purpose", "file"])
        #expect(String(decoding: try #require(form.part("purpose")).content, as: UTF8.self) == "batch")
        let file = try #require(form.part("file"))
        #expect(file.filename == "a b.jsonl" && String(decoding: file.content, as: UTF8.self) == "line 1\r\nline 2")
    }

    @Test func refusesWhatIsNotAForm() {
        for (body, type) in [
            ("--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nno end", "multipart/form-data; boundary=b"),
            ("no boundary at all", "multipart/form-data; boundary=b"),
            ("--b\r\n\r\nno name\r\n--b--", "multipart/form-data; boundary=b"),
            ("--b--", "application/json"),
            ("--b--", "multipart/form-data"),
            ("--b--", "multipart/form-data; boundary=" + String(repeating: "b", count: 71)),
        ] {
            #expect(throws: APIError.self, "\(body) as \(type)") { try MultipartForm(body: Array(body.utf8), contentType: type) }
        }
        // A body of one repeated byte against a boundary of the same is read in linear time.
        let boundary = String(repeating: "a", count: 70)
        #expect(throws: APIError.self) {
            try MultipartForm(body: Array(repeating: UInt8(ascii: "a"), count: 4 << 20), contentType: "multipart/form-data; boundary=\(boundary)")
        }
    }
}
