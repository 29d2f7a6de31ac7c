"""OpenAI-compatible client for the local LLM server (vllm on GPU, llama.cpp on CPU)."""
