"""Build and benchmark: pruning and precompiling the Lambda package (`build_package`), the benchmark
(`bench`) and the burst against BizKitHub's rate limit (`burst`).

May import `bookhook_dev.tools` and `bookhook_dev.testing`; neither imports this. `build_package`
runs under the Lambda runtime's Python and stays standard-library only: it imports `tools.cli`
alone, and no `__init__` on the way imports anything.
"""
