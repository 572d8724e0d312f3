from mlops.serve import launcher
from tests.serve.conftest import GOOD, deploy


def test_smoke(served_repo):
    deploy(served_repo, "staging", GOOD[0])
    with launcher.start(served_repo, "staging", sync_interval=60) as server:
        print(server.version())
        print(server.predict([{"tenure_months": 3, "monthly_charges": 70.0, "total_charges": None, "support_tickets": 1, "senior_citizen": 0, "contract": "one-year", "payment_method": "mailed-check", "internet_service": "dsl", "region": "north"}]))
        print(server.log())
