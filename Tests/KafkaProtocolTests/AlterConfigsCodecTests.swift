import KafkaProtocol
import NIOCore
import Testing

/// AlterConfigs (33), IncrementalAlterConfigs (44) and DescribeLogDirs (35): round trips for every
/// version and hand-derived bytes from Kafka's message schemas.
struct AlterConfigsCodecTests {
    @Test(arguments: Int16(0)...2)
    func alterConfigsRoundTrips(version: Int16) throws {
        let request = AlterConfigsRequest(resources: [
            .init(resourceType: 2, resourceName: "t", configs: [.init(name: "retention.ms", value: "1000"), .init(name: "x", value: nil)]),
            .init(resourceType: 4, resourceName: "", configs: []),
        ], validateOnly: true)
        #expect(try AlterConfigsRequest.decode(request.encoded(apiKey: .alterConfigs, version: version),
                                               apiKey: .alterConfigs, version: version) == request)
        let response = AlterConfigsResponse(throttleTimeMs: 3, responses: [
            .init(resourceType: 2, resourceName: "t"),
            .init(errorCode: .invalidConfig, errorMessage: "bad", resourceType: 4, resourceName: "1"),
        ])
        #expect(try AlterConfigsResponse.decode(response.encoded(apiKey: .alterConfigs, version: version),
                                                apiKey: .alterConfigs, version: version) == response)
    }

    @Test(arguments: Int16(0)...1)
    func incrementalAlterConfigsRoundTrips(version: Int16) throws {
        let request = IncrementalAlterConfigsRequest(resources: [
            .init(resourceType: 2, resourceName: "t", configs: [.init(name: "cleanup.policy", configOperation: 2, value: "compact"),
                                                                .init(name: "retention.ms", configOperation: 1, value: nil)]),
        ])
        #expect(try IncrementalAlterConfigsRequest.decode(request.encoded(apiKey: .incrementalAlterConfigs, version: version),
                                                          apiKey: .incrementalAlterConfigs, version: version) == request)
        let response = AlterConfigsResponse(responses: [.init(resourceType: 2, resourceName: "t")])
        #expect(try AlterConfigsResponse.decode(response.encoded(apiKey: .incrementalAlterConfigs, version: version),
                                                apiKey: .incrementalAlterConfigs, version: version) == response)
    }

    @Test func incrementalAlterConfigsV1RequestBytes() throws {
        // Flexible (v1): compact arrays and strings (length + 1), a tag buffer after each struct.
        let bytes: [UInt8] = [
            2,                          // resources: 1 (compact: n + 1)
            2,                          // resource_type: topic
            2, 0x74,                    // resource_name "t"
            2,                          // configs: 1
            2, 0x61,                    // name "a"
            3,                          // config_operation: SUBTRACT
            0,                          // value: null
            0,                          // config tags
            0,                          // resource tags
            1,                          // validate_only
            0,                          // request tags
        ]
        let decoded = try IncrementalAlterConfigsRequest.decode(ByteBuffer(bytes: bytes), apiKey: .incrementalAlterConfigs, version: 1)
        #expect(decoded == IncrementalAlterConfigsRequest(resources: [
            .init(resourceType: 2, resourceName: "t", configs: [.init(name: "a", configOperation: 3, value: nil)]),
        ], validateOnly: true))
        #expect(Array(decoded.encoded(apiKey: .incrementalAlterConfigs, version: 1).readableBytesView) == bytes)
    }

    @Test func alterConfigsV0ResponseBytes() throws {
        let response = AlterConfigsResponse(responses: [.init(errorCode: .invalidRequest, errorMessage: "m", resourceType: 4, resourceName: "1")])
        let bytes: [UInt8] = [
            0, 0, 0, 0,                 // throttle_time_ms
            0, 0, 0, 1,                 // responses: 1
            0, 42,                      // error_code: INVALID_REQUEST
            0, 1, 0x6D,                 // error_message "m"
            4,                          // resource_type: broker
            0, 1, 0x31,                 // resource_name "1"
        ]
        #expect(Array(response.encoded(apiKey: .alterConfigs, version: 0).readableBytesView) == bytes)
    }

    @Test(arguments: Int16(0)...4)
    func describeLogDirsRoundTrips(version: Int16) throws {
        for topics in [nil, [DescribeLogDirsRequest.Topic(topic: "t", partitions: [0, 2])]] {
            let request = DescribeLogDirsRequest(topics: topics)
            #expect(try DescribeLogDirsRequest.decode(request.encoded(apiKey: .describeLogDirs, version: version),
                                                      apiKey: .describeLogDirs, version: version) == request)
        }
        let response = DescribeLogDirsResponse(errorCode: version >= 3 ? .none : .none, results: [
            .init(logDir: "/data", topics: [.init(name: "t", partitions: [.init(partitionIndex: 2, partitionSize: 4096, offsetLag: 0)])],
                  totalBytes: version >= 4 ? 1 << 40 : -1, usableBytes: version >= 4 ? 1 << 30 : -1),
        ])
        #expect(try DescribeLogDirsResponse.decode(response.encoded(apiKey: .describeLogDirs, version: version),
                                                   apiKey: .describeLogDirs, version: version) == response)
    }

    @Test func describeLogDirsV4ResponseBytes() throws {
        let response = DescribeLogDirsResponse(results: [
            .init(logDir: "/d", topics: [.init(name: "t", partitions: [.init(partitionIndex: 1, partitionSize: 5, offsetLag: 0)])],
                  totalBytes: 100, usableBytes: 7),
        ])
        let bytes: [UInt8] = [
            0, 0, 0, 0,                 // throttle_time_ms
            0, 0,                       // error_code (v3+)
            2,                          // results: 1
            0, 0,                       // error_code
            3, 0x2F, 0x64,              // log_dir "/d"
            2,                          // topics: 1
            2, 0x74,                    // name "t"
            2,                          // partitions: 1
            0, 0, 0, 1,                 // partition_index
            0, 0, 0, 0, 0, 0, 0, 5,     // partition_size
            0, 0, 0, 0, 0, 0, 0, 0,     // offset_lag
            0,                          // is_future_key
            0,                          // partition tags
            0,                          // topic tags
            0, 0, 0, 0, 0, 0, 0, 100,   // total_bytes (v4+)
            0, 0, 0, 0, 0, 0, 0, 7,     // usable_bytes (v4+)
            0,                          // result tags
            0,                          // response tags
        ]
        #expect(Array(response.encoded(apiKey: .describeLogDirs, version: 4).readableBytesView) == bytes)
    }
}
