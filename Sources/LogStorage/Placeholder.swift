// LogStorage placeholder
