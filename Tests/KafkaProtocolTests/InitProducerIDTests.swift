import KafkaProtocol
import NIOCore
import Testing

/// InitProducerId (key 22) against byte layouts written by hand from Kafka's
/// InitProducerIdRequest.json / InitProducerIdResponse.json.
struct InitProducerIDTests {
    @Test func requestV1IsNonFlexibleWithANullTransactionalID() throws {
        let request = InitProducerIDRequest(transactionalID: nil, transactionTimeoutMs: 60_000)
        let bytes: [UInt8] = [
            0xFF, 0xFF,              // transactional_id: null (int16 -1)
            0x00, 0x00, 0xEA, 0x60,  // transaction_timeout_ms 60000
        ]
        #expect(Array(request.encoded(apiKey: .initProducerID, version: 1).readableBytesView) == bytes)
        #expect(try InitProducerIDRequest.decode(ByteBuffer(bytes: bytes), apiKey: .initProducerID, version: 1) == request)
    }

    @Test func requestV4CarriesTheCurrentProducerIDAndEpoch() throws {
        let request = InitProducerIDRequest(transactionalID: "tx", transactionTimeoutMs: 1, producerID: 7, producerEpoch: 3)
        let bytes: [UInt8] = [
            0x03, 0x74, 0x78,                                // transactional_id: compact "tx"
            0x00, 0x00, 0x00, 0x01,                          // transaction_timeout_ms 1
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  // producer_id 7
            0x00, 0x03,                                      // producer_epoch 3
            0x00,                                            // tagged fields
        ]
        #expect(Array(request.encoded(apiKey: .initProducerID, version: 4).readableBytesView) == bytes)
        #expect(try InitProducerIDRequest.decode(ByteBuffer(bytes: bytes), apiKey: .initProducerID, version: 4) == request)
    }

    @Test func responseV2() throws {
        let response = InitProducerIDResponse(errorCode: .none, producerID: 1000, producerEpoch: 0)
        let bytes: [UInt8] = [
            0x00, 0x00, 0x00, 0x00,                          // throttle_time_ms
            0x00, 0x00,                                      // error_code
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xE8,  // producer_id 1000
            0x00, 0x00,                                      // producer_epoch 0
            0x00,                                            // tagged fields
        ]
        #expect(Array(response.encoded(apiKey: .initProducerID, version: 2).readableBytesView) == bytes)
        #expect(try InitProducerIDResponse.decode(ByteBuffer(bytes: bytes), apiKey: .initProducerID, version: 2) == response)
    }

    @Test(arguments: Int16(0)...4)
    func roundTrips(version: Int16) throws {
        let request = InitProducerIDRequest(transactionalID: nil, transactionTimeoutMs: 5, producerID: version >= 3 ? 9 : -1,
                                            producerEpoch: version >= 3 ? 2 : -1)
        let encoded = request.encoded(apiKey: .initProducerID, version: version)
        #expect(try InitProducerIDRequest.decode(encoded, apiKey: .initProducerID, version: version) == request)
        let response = InitProducerIDResponse(errorCode: .transactionalIDAuthorizationFailed)
        let encodedResponse = response.encoded(apiKey: .initProducerID, version: version)
        #expect(try InitProducerIDResponse.decode(encodedResponse, apiKey: .initProducerID, version: version) == response)
    }
}

/// DescribeConfigs (key 32): every version round-trips, with version-gated fields only where the
/// schema has them (v0 is_default; v1+ config_source and synonyms; v3+ config_type and documentation).
struct DescribeConfigsCodecTests {
    @Test(arguments: Int16(0)...4)
    func roundTrips(version: Int16) throws {
        let request = DescribeConfigsRequest(resources: [.init(resourceType: 2, resourceName: "t", configurationKeys: ["retention.ms"]),
                                                         .init(resourceType: 4, resourceName: "1")],
                                             includeSynonyms: version >= 1, includeDocumentation: version >= 3)
        #expect(try DescribeConfigsRequest.decode(request.encoded(apiKey: .describeConfigs, version: version),
                                                  apiKey: .describeConfigs, version: version) == request)
        let config = DescribeConfigsResponse.Config(
            name: "retention.ms", value: "1000", readOnly: false, isDefault: version == 0, configSource: version >= 1 ? 1 : -1,
            synonyms: version >= 1 ? [.init(name: "retention.ms", value: "1000", source: 1), .init(name: "log.retention.ms", value: nil, source: 5)] : [],
            configType: version >= 3 ? 5 : 0, documentation: version >= 3 ? "doc" : nil)
        let response = DescribeConfigsResponse(results: [.init(resourceType: 2, resourceName: "t", configs: [config])])
        #expect(try DescribeConfigsResponse.decode(response.encoded(apiKey: .describeConfigs, version: version),
                                                   apiKey: .describeConfigs, version: version) == response)
    }

    @Test func responseV1Bytes() throws {
        let response = DescribeConfigsResponse(results: [.init(resourceType: 2, resourceName: "t", configs: [
            .init(name: "a", value: nil, readOnly: true, isDefault: false, configSource: 5, synonyms: []),
        ])])
        let bytes: [UInt8] = [
            0, 0, 0, 0,        // throttle_time_ms
            0, 0, 0, 1,        // results: 1
            0, 0,              // error_code
            0xFF, 0xFF,        // error_message: null
            2,                 // resource_type: topic
            0, 1, 0x74,        // resource_name "t"
            0, 0, 0, 1,        // configs: 1
            0, 1, 0x61,        // name "a"
            0xFF, 0xFF,        // value: null
            1,                 // read_only
            5,                 // config_source: DEFAULT_CONFIG
            0,                 // is_sensitive
            0, 0, 0, 0,        // synonyms: 0
        ]
        #expect(Array(response.encoded(apiKey: .describeConfigs, version: 1).readableBytesView) == bytes)
    }
}
