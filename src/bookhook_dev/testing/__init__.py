"""Stand-ins for the outside world, for the tests and the local runner: BizKitHub's API
(`bizkithub_stand_in`), Lambda, API Gateway and SQS around the function (`lambda_emulation`), the
template's resources as CloudFormation reads them (`template`) and the embedded fake secrets
(`defaults`).

Imports nothing of `bookhook_dev.tools` or `bookhook_dev.build`; both of them may import this.
"""
