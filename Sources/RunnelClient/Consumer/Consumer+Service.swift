import ServiceLifecycle

extension Consumer: Service {
    /// Runs until graceful shutdown (or cancellation), then commits (with auto-commit), leaves the
    /// group and closes, which also ends ``records`` (swift-service-lifecycle).
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}
