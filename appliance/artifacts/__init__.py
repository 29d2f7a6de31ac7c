"""What the appliance ships and checks: model files against the manifest, the offline
bundle, and the CPU baseline of native code."""
