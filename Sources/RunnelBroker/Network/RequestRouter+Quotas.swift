import KafkaProtocol
import NIOCore

/// Client quota enforcement around the handlers (KIP-13 byte rates, KIP-124 request time,
/// KIP-219 throttling): usage is recorded after a request is handled, and a client over a quota
/// gets `throttle_time_ms` in its response where the response has one, and its connection is held
/// for that time.
extension RequestRouter {
    /// The `user` a connection's usage counts against: its principal's name (the SASL user, the
    /// TLS certificate subject, or `ANONYMOUS`), as Kafka's `ClientQuotaManager` matches `user`
    /// quota entities by `KafkaPrincipal.getName` (by that name or as `<default>`).
    static func quotaUser(_ context: RequestContext) -> String { context.principal.name }

    private var quotas: ClientQuotaManager { handlers.quotas }

    /// Records a produce request's bytes (the whole request, as Kafka counts it) and its handling
    /// time; returns the longer of the two throttles, in milliseconds.
    func produceThrottleMs(header: RequestHeader, frameBytes: Int, context: RequestContext) -> Int64 {
        let clientID = header.clientID ?? ""
        let user = Self.quotaUser(context)
        var throttleMs: Int64 = 0
        if quotas.enforces(.producerByteRate) {
            throttleMs = quotas.record(.producerByteRate, user: user, clientID: clientID, value: Double(frameBytes))
        }
        return max(throttleMs, requestTimeThrottleMs(header: header, user: user))
    }

    /// Frames a Fetch response, recording its bytes for a consumer (replica fetches are exempt).
    /// Over a quota, the client gets an empty response carrying the throttle time instead, and
    /// the bytes it did not get are taken back from its rate (Kafka's `KafkaApis.handleFetchRequest`).
    func fetchOutcome(_ request: FetchRequest, response: FetchResponse, header: RequestHeader, context: RequestContext) -> RouterOutcome {
        let framed = respond(response, header)
        guard request.replicaID < 0, case .respond(let bytes) = framed else { return framed }
        let clientID = header.clientID ?? ""
        let user = Self.quotaUser(context)
        var byteThrottleMs: Int64 = 0
        if quotas.enforces(.consumerByteRate) {
            byteThrottleMs = quotas.record(.consumerByteRate, user: user, clientID: clientID, value: Double(bytes.byteCount))
        }
        let throttleMs = max(byteThrottleMs, requestTimeThrottleMs(header: header, user: user))
        guard throttleMs > 0 else { return framed }
        if byteThrottleMs > 0 {
            quotas.unrecord(.consumerByteRate, user: user, clientID: clientID, value: Double(bytes.byteCount))
        }
        let empty = FetchResponse(throttleTimeMs: Int32(clamping: throttleMs), sessionID: response.sessionID, responses: [])
        return throttled(respond(empty, header), throttleMs: throttleMs, clientBacksOff: header.apiVersion >= 8)
    }

    /// For every other API: records the request's handling time and, over a `request_percentage`
    /// quota, holds the response for the throttle time (its body is already encoded, so the time
    /// is not reported in it; clients see a slower answer, as before KIP-219).
    func throttledForRequestTime(_ outcome: RouterOutcome, header: RequestHeader, timer: RequestTimer,
                                 context: RequestContext) -> RouterOutcome {
        guard header.apiKey != .produce, header.apiKey != .fetch, case .respond = outcome else { return outcome }
        let throttleMs = requestTimeThrottleMs(header: header, user: Self.quotaUser(context), timer: timer)
        return throttled(outcome, throttleMs: throttleMs, clientBacksOff: false)
    }

    /// Records the request's busy time against `request_percentage`; the throttle in milliseconds.
    private func requestTimeThrottleMs(header: RequestHeader, user: String, timer: RequestTimer? = RequestTimer.current) -> Int64 {
        guard let timer, quotas.enforces(.requestPercentage) else { return 0 }
        return quotas.record(.requestPercentage, user: user, clientID: header.clientID ?? "",
                             value: ClientQuotaManager.requestTimeValue(timer.busyTime))
    }

    func throttled(_ outcome: RouterOutcome, throttleMs: Int64, clientBacksOff: Bool) -> RouterOutcome {
        guard throttleMs > 0, case .respond(let bytes) = outcome else { return outcome }
        return .respondThrottled(bytes, QuotaThrottle(time: .milliseconds(throttleMs), clientBacksOff: clientBacksOff))
    }
}
