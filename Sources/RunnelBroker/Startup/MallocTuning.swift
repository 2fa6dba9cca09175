#if canImport(Glibc)
import CLinuxShims
#endif

/// glibc malloc settings for a broker process, applied once at start-up.
///
/// Request frames and fetch responses are buffers of up to about a megabyte, allocated and freed
/// at the request rate. With glibc's defaults a freed buffer of that size is soon handed back to
/// the kernel (a heap's free top above `M_TRIM_THRESHOLD`, which starts at 128 KiB, is trimmed;
/// blocks above `M_MMAP_THRESHOLD` are mmapped and unmapped one by one), and the next buffer
/// faults in and zeroes fresh pages: about a fifth of the event loop's time when one producer
/// sends 1 KiB records (measured with `perf record` in the produce row of `Benchmarks/e2e`).
/// Fixing both thresholds keeps buffers up to 16 MiB in the heaps and lets each heap keep 32 MiB
/// of free memory for reuse. Setting them also turns off glibc's dynamic adjustment of both
/// (mallopt(3)). An explicit `GLIBC_TUNABLES` or `MALLOC_*_` environment setting wins.
public enum MallocTuning {
    /// Largest block served from a heap rather than its own mapping, bytes.
    public static let mmapThresholdBytes: Int32 = 16 * 1024 * 1024
    /// Free memory at the top of a heap kept for reuse rather than returned, bytes.
    public static let trimThresholdBytes: Int32 = 32 * 1024 * 1024

    /// Applies the thresholds unless the environment sets malloc tunables.
    /// - Parameter environment: the process environment (a parameter for tests).
    /// - Returns: whether the thresholds were applied.
    @discardableResult
    public static func apply(environment: [String: String]) -> Bool {
        #if canImport(Glibc)
        let userSet = environment.keys.contains { $0 == "GLIBC_TUNABLES" || $0.hasPrefix("MALLOC_") }
        guard !userSet else { return false }
        // <malloc.h>'s M_TRIM_THRESHOLD (-1) and M_MMAP_THRESHOLD (-3): negative macros, which
        // Swift does not import.
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3
        return mallopt(mmapThreshold, mmapThresholdBytes) == 1 && mallopt(trimThreshold, trimThresholdBytes) == 1
        #else
        return false
        #endif
    }
}
