@testable import RunnelBroker
import Testing

struct MallocTuningTests {
    @Test func environmentTunablesWin() {
        #expect(!MallocTuning.apply(environment: ["GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"]))
        #expect(!MallocTuning.apply(environment: ["MALLOC_ARENA_MAX": "2"]))
    }

    @Test func thresholdsAreAcceptedByGlibc() {
        #if canImport(Glibc)
        #expect(MallocTuning.apply(environment: ["PATH": "/usr/bin"]))
        #endif
    }
}
