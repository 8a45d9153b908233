"""The real gateways, offline, for the `gateway` test tier and the gateway benchmarks."""
