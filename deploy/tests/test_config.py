"""The configuration cross-check (config_check.py) on the committed all-in-one, the k3d render and compose, through
the service binaries' real settings loaders (`check-config`), and the failures it must report.

Needs the five binaries built (scripts/test-deploy.sh builds them; DEVOPSTRACK_BIN_DIR points elsewhere).
"""

import unittest

import config_check as cc
import deployment as d
from helpers import k3d_cluster

EKS = d.Cluster.load("all-in-one")
K3D = k3d_cluster()
ENV_FILE = d.generated_secrets()


def tasks_config(cluster):
    return cluster.get("ConfigMap", "tasks-config")["data"]


class ClusterConfigTests(unittest.TestCase):
    def assert_reports(self, mutate, expected, run_loader=False):
        broken = EKS.copy()
        mutate(broken)
        problems = cc.check_cluster(broken, run_loader=run_loader)
        self.assertTrue(any(expected in p for p in problems), f"{expected!r} not in {problems}")

    def test_every_container_of_the_all_in_one_loads_through_its_real_settings(self):
        self.assertEqual(cc.check_cluster(EKS), [])

    def test_every_container_of_the_k3d_render_loads_through_its_real_settings(self):
        self.assertEqual(cc.check_cluster(K3D), [])

    def test_a_renamed_variable_is_refused_by_the_real_loader(self):
        def rename(c):
            data = tasks_config(c)
            data["DEVOPSTRACK_TASKS__AUTH_ADDR"] = data.pop("DEVOPSTRACK_TASKS__AUTH_URL")
        self.assert_reports(rename, "devopstrack-tasks check-config refused its environment", run_loader=True)

    def test_a_value_the_service_rejects_is_refused(self):
        self.assert_reports(lambda c: tasks_config(c).update(DEVOPSTRACK_TASKS__LEASE_MS="5"),
                            "DEVOPSTRACK_TASKS__LEASE_MS", run_loader=True)

    def test_a_pending_variable_the_binary_accepts_must_leave_the_pending_list(self):
        env = {"DEVOPSTRACK_TASKS__LEASE_MS": "15000"}
        problems = cc.check_loader("probe", "tasks", [], env, pending={"DEVOPSTRACK_TASKS__LEASE_MS"})
        self.assertTrue(any("delete it from deploy/tests/pending-settings.txt" in p for p in problems), problems)

    def test_a_required_setting_left_out_is_reported(self):
        self.assert_reports(lambda c: c.get("ConfigMap", "gateway-config")["data"].pop(
            "DEVOPSTRACK_GATEWAY__METRICS_URL"), "DEVOPSTRACK_GATEWAY__METRICS_URL is not set")

    def test_an_embedded_store_in_a_container_is_reported(self):
        self.assert_reports(lambda c: c.secrets.update(DEVOPSTRACK_AUTH__DATABASE_URL="sqlite:///tmp/auth.db"),
                            "not its production store")

    def test_services_that_disagree_on_the_token_audience_are_reported(self):
        self.assert_reports(lambda c: c.get("ConfigMap", "metrics-config")["data"].update(
            DEVOPSTRACK_METRICS__AUDIENCE="metrics"), "audience differs across services")

    def test_a_client_secret_that_is_not_the_one_auth_holds_is_reported(self):
        def swap(c):
            for item in c.get("Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]["env"]:
                if item["name"] == "DEVOPSTRACK_GATEWAY__CLIENT_SECRET":
                    item["valueFrom"]["secretKeyRef"]["key"] = "DEVOPSTRACK_AUTH__SERVICE_CLIENTS__TASKS"
        self.assert_reports(swap, "DEVOPSTRACK_GATEWAY__CLIENT_SECRET is not")

    def test_a_store_url_with_other_credentials_than_the_store_is_reported(self):
        self.assert_reports(lambda c: c.secrets.update(POSTGRES_PASSWORD="another"),
                            "DEVOPSTRACK_AUTH__DATABASE_URL (or its credentials) does not match")

    def test_a_peer_on_a_port_no_service_has_is_reported(self):
        self.assert_reports(lambda c: c.get("ConfigMap", "gateway-config")["data"].update(
            DEVOPSTRACK_GATEWAY__TASKS_URL="http://tasks:50099"), "Service tasks has no port 50099")

    def test_a_peer_that_is_no_service_is_reported(self):
        self.assert_reports(lambda c: c.get("ConfigMap", "projects-config")["data"].update(
            DEVOPSTRACK_PROJECTS__AUTH_URL="http://auth-service:50051"), "'auth-service', which is no Service")

    def test_a_container_port_the_service_does_not_listen_on_is_reported(self):
        def move(c):
            c.get("Deployment", "metrics")["spec"]["template"]["spec"]["containers"][0]["ports"][0][
                "containerPort"] = 50055
        self.assert_reports(move, "listens on 50054")

    def test_a_secret_key_the_secret_does_not_hold_is_reported(self):
        self.assert_reports(lambda c: c.secrets.pop("DEVOPSTRACK_PROJECTS__SECRETS_KEY"),
                            "missing Secret key 'DEVOPSTRACK_PROJECTS__SECRETS_KEY'")


class ComposeConfigTests(unittest.TestCase):
    def test_every_compose_container_loads_through_its_real_settings(self):
        self.assertEqual(cc.check_compose(d.load_compose(ENV_FILE)), [])

    def test_a_secret_missing_from_the_env_file_stops_compose_with_its_message(self):
        variables = dict(ENV_FILE)
        variables.pop("REDIS_PASSWORD")
        with self.assertRaisesRegex(d.MissingVariable, "REDIS_PASSWORD.*scripts/gen-env.sh deploy/.env"):
            d.load_compose(variables)

    def test_a_compose_peer_on_the_wrong_port_is_reported(self):
        text = d.COMPOSE.read_text().replace("DEVOPSTRACK_GATEWAY__AUTH_URL: http://auth:50051",
                                             "DEVOPSTRACK_GATEWAY__AUTH_URL: http://auth:50052")
        problems = cc.check_compose(d.load_compose(ENV_FILE, text), run_loader=False)
        self.assertTrue(any("names auth:50052, where auth does not listen" in p for p in problems), problems)

    def test_a_compose_variable_renamed_is_refused_by_the_real_loader(self):
        text = d.COMPOSE.read_text().replace("DEVOPSTRACK_METRICS__INFLUX_ORG:", "DEVOPSTRACK_METRICS__INFLUX_ORGANISATION:")
        problems = cc.check_compose(d.load_compose(ENV_FILE, text))
        self.assertTrue(any("devopstrack-metrics check-config refused" in p for p in problems), problems)


if __name__ == "__main__":
    unittest.main()
