import KafkaProtocol
import LogStorage

extension StorageError: StorageErrorConvertible {
    var kafkaErrorCode: ErrorCode { errorCode }
}

extension RecordValidationError: StorageErrorConvertible {
    var kafkaErrorCode: ErrorCode { errorCode }
}

extension ProducerStateError: StorageErrorConvertible {}

extension CompressionError: StorageErrorConvertible {
    var kafkaErrorCode: ErrorCode { .corruptMessage }
}

extension ProtocolError: StorageErrorConvertible {
    var kafkaErrorCode: ErrorCode { .corruptMessage }
}

extension LogFlushError: StorageErrorConvertible {
    var kafkaErrorCode: ErrorCode { errorCode }
}
