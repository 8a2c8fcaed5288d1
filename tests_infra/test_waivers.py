"""specs/waivers.yaml: an exception is accepted until its date, not after. An expired waiver waives nothing, and
fails here as a finding of its own."""

from viewster_infra.findings import drift


def test_waiver_in_force(waiver, run):
    today = run.inputs.today()
    if waiver.expired(today):
        drift(
            f"waiver for {waiver.name}",
            f"expired {waiver.expires}",
            prop="expires",
            expected=f"on or after {today}",
            found=str(waiver.expires),
        )
