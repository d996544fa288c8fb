import HTTPTypes

extension ClientWriter {
    /// Writes a kept answer as it was first sent — a stream's events as a stream — marked
    /// `x-dagi-cache: hit`, served here and costing nothing.
    func replay(_ answer: CachedAnswer, node: String) {
        var fields = HTTPFields()
        fields[.contentType] = answer.contentType
        fields[CacheDirective.header] = "hit"
        fields[.dagiRoute] = RequestRouter.cacheRoute
        fields[.dagiNode] = node
        fields[.dagiModel] = answer.model
        if !answer.streamed {
            fields[.contentLength] = String(answer.body.readableBytes)
            fields[.dagiCost] = Metered.dollars(0)
        }
        head(HTTPResponse(status: .ok, headerFields: fields), route: nil, flush: false)
        body(answer.body, flush: false)
        end(trailers: answer.streamed ? [.dagiCost: Metered.dollars(0)] : nil)
    }
}
