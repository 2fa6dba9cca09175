import ServiceLifecycle

extension Producer: Service {
    /// Runs until graceful shutdown (or cancellation), then flushes every queued record and closes
    /// (swift-service-lifecycle). Add the producer to a `ServiceGroup` next to the services that send.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}
