// RunnelBroker placeholder
