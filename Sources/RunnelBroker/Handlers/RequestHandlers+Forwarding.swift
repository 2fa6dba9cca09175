import KafkaProtocol

/// No answer came from the active controller; `code` is what the client is told.
struct ForwardingFailure: Error {
    var code: ErrorCode
}

/// Admin requests reach any broker and run on the active controller (KIP-590): a broker that is
/// not the active controller sends the same request, in the client's version, to the controller
/// listener of the quorum leader and relays the answer.
extension RequestHandlers {
    /// `nil` when this node handles `request` itself (standalone, or the active controller);
    /// otherwise the controller's response, or the error to answer with when none came.
    func forwardIfNeeded<R: KafkaRequest>(_ request: R, version: Int16) async -> Result<R.Response, ForwardingFailure>? {
        guard controller.cluster != nil, await !controller.isActiveController else { return nil }
        if ControllerChannel.requestFromBroker { return .failure(ForwardingFailure(code: .notController)) }
        return await forwardToController(request, version: version)
    }

    /// Sends `request` to the active controller.
    func forwardToController<R: KafkaRequest>(_ request: R, version: Int16) async -> Result<R.Response, ForwardingFailure> {
        guard let channel = controller.controllerChannel else { return .failure(ForwardingFailure(code: .notController)) }
        do {
            // Parked: the controller does the work, not this broker.
            return .success(try await RequestTimer.parked { try await channel.send(request, version: version, timeout: .seconds(10)) })
        } catch {
            logger.warning("forwarding to the active controller failed", metadata: ["api": "\(R.apiKey)", "error": "\(error)"])
            return .failure(ForwardingFailure(code: .requestTimedOut))
        }
    }
}
