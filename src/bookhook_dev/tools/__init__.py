"""What a developer runs: the `bookhook` command (`cli`), running the webhook locally
(`local_runner`, `event_files`), checking Typeform rules (`typeform_check`), replaying dead letters
(`replay`) and the sample events (`sample_files`, `stripe_samples`, `typeform_samples`).

May import `bookhook_dev.testing`; imports nothing of `bookhook_dev.build` (`cli` names the build
commands' modules as strings and imports one only when its subcommand runs).
"""
