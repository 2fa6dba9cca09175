import KafkaProtocol
import NIOCore

/// One request on its way to a broker: the encoded body plus what the handler needs to match the
/// response. The handler writes the header, so correlation ids are assigned in write order.
struct OutboundRequest: Sendable {
    var apiKey: ApiKey
    var apiVersion: Int16
    var body: ByteBuffer
    /// More of the body, written after `body` without being copied into it (the record batches
    /// of a Produce request, see ``KafkaProtocol/ProduceRequest/encodedParts(version:minimumDetachedBytes:)``).
    var moreBody: [ByteBuffer] = []
    /// `nil` for requests the broker never answers (Produce with acks=0).
    var promise: EventLoopPromise<ByteBuffer>?
    /// How long to wait for the response (`request.timeout.ms`).
    var timeout: Duration
}

/// Matches responses to requests by correlation id on one connection (protocol guide: a broker
/// answers requests on a connection in the order it received them, so responses are pipelined).
///
/// Lives on the channel's event loop only. A sweep every `sweepInterval` fails requests whose
/// deadline has passed and then closes the connection, as Kafka's Java client does: once a
/// response is late, every later one on the connection is too.
final class RequestHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = OutboundRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var promise: EventLoopPromise<ByteBuffer>
        var responseHeaderVersion: Int16
        var deadline: NIODeadline
        var timeout: Duration
        var apiKey: ApiKey
    }

    private let clientID: String
    private let sweepInterval: TimeAmount
    private var nextCorrelationID: Int32 = 0
    private var pending: [Int32: Pending] = [:]
    private var sweepTask: RepeatedTask?
    private var closedError: (any Error)?
    private let address: String

    init(clientID: String, address: String, sweepInterval: TimeAmount = .milliseconds(100)) {
        self.clientID = clientID
        self.address = address
        self.sweepInterval = sweepInterval
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBoundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loopBoundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        sweepTask = context.eventLoop.scheduleRepeatedTask(initialDelay: sweepInterval, delay: sweepInterval) { _ in
            loopBoundSelf.value.sweep(context: loopBoundContext.value)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        sweepTask?.cancel()
        failAll(ClientError.connectionClosed(address: address))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let closedError {
            request.promise?.fail(closedError)
            promise?.fail(closedError)
            return
        }
        let correlationID = nextCorrelationID
        nextCorrelationID = nextCorrelationID == Int32.max ? 0 : nextCorrelationID + 1
        let header = RequestHeader(apiKey: request.apiKey, apiVersion: request.apiVersion,
                                   correlationID: correlationID, clientID: clientID)
        // Large bodies (Produce requests) go out as buffers of their own after the length and
        // header (one gathering write) instead of being copied behind them.
        let separateBody = !request.moreBody.isEmpty || request.body.readableBytes >= Self.separateBodyBytes
        var bodyBytes = request.body.readableBytes
        for part in request.moreBody { bodyBytes += part.readableBytes }
        var frame = context.channel.allocator.buffer(capacity: (separateBody ? 0 : bodyBytes) + 64)
        frame.writeInteger(Int32(0))
        header.encode(to: &frame)
        if !separateBody {
            var body = request.body
            frame.writeBuffer(&body)
        }
        frame.setInteger(Int32(frame.readableBytes - 4 + (separateBody ? bodyBytes : 0)), at: frame.readerIndex)
        if let responsePromise = request.promise {
            pending[correlationID] = Pending(promise: responsePromise,
                                             responseHeaderVersion: request.apiKey.responseHeaderVersion(request.apiVersion),
                                             deadline: .now() + .nanoseconds(request.timeout.nanoseconds),
                                             timeout: request.timeout, apiKey: request.apiKey)
        }
        guard separateBody else {
            context.write(wrapOutboundOut(frame), promise: promise)
            return
        }
        context.write(wrapOutboundOut(frame), promise: nil)
        if request.moreBody.isEmpty {
            context.write(wrapOutboundOut(request.body), promise: promise)
            return
        }
        if request.body.readableBytes > 0 { context.write(wrapOutboundOut(request.body), promise: nil) }
        for part in request.moreBody.dropLast() { context.write(wrapOutboundOut(part), promise: nil) }
        context.write(wrapOutboundOut(request.moreBody.last!), promise: promise)
    }

    /// Request bodies at least this large are written behind the header without a copy.
    static let separateBodyBytes = 16 * 1024

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        guard let correlationID = frame.getInteger(at: frame.readerIndex, endianness: .big, as: Int32.self),
              let entry = pending.removeValue(forKey: correlationID) else {
            let id = frame.getInteger(at: frame.readerIndex, endianness: .big, as: Int32.self) ?? -1
            context.fireErrorCaught(ResponseFrameError.unexpectedCorrelationID(id))
            context.close(promise: nil)
            return
        }
        do {
            _ = try ResponseHeader.decode(from: &frame, version: entry.responseHeaderVersion)
            entry.promise.succeed(frame)
        } catch {
            entry.promise.fail(ClientError.malformedResponse(api: entry.apiKey.description, reason: "\(error)"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(ClientError.connectionClosed(address: address))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A TLS failure arrives translated (TLSErrorTranslator) and says why.
        failAll(error as? ClientError ?? ClientError.connectionClosed(address: address))
        context.close(promise: nil)
    }

    private func sweep(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        guard let expired = pending.first(where: { $0.value.deadline < now }) else { return }
        let timeout = ClientError.requestTimedOut(api: expired.value.apiKey.description, address: address,
                                                  timeout: expired.value.timeout)
        failAll(timeout, onlyExpired: now)
        failAll(ClientError.connectionClosed(address: address))
        context.close(promise: nil)
    }

    /// Fails pending requests: all of them, or with `onlyExpired` those past their deadline.
    private func failAll(_ error: any Error, onlyExpired now: NIODeadline? = nil) {
        if now == nil, closedError == nil { closedError = error }
        let victims = pending.filter { now == nil || $0.value.deadline < now! }
        for (id, entry) in victims {
            pending.removeValue(forKey: id)
            entry.promise.fail(error)
        }
    }
}
