"""Each rule of policy.py holds on the committed all-in-one (= the eks render) and on the k3d render, and fails on a copy
broken the way a careless edit would break it (a rule that cannot fail proves nothing).

Run: .venv/bin/python -m unittest discover -s deploy/tests (scripts/test-deploy.sh does).
"""

import unittest

import deployment as d
import policy as p
from helpers import k3d_cluster

EKS = d.Cluster.load("all-in-one")
K3D = k3d_cluster()


def workload(cluster, name, kind="Deployment"):
    return cluster.get(kind, name)


def container(cluster, name, kind="Deployment"):
    return workload(cluster, name, kind)["spec"]["template"]["spec"]["containers"][0]


class PolicyTests(unittest.TestCase):
    def assert_holds(self, check, **kw):
        for label, cluster in (("all-in-one", EKS), ("k3d", K3D)):
            with self.subTest(render=label):
                self.assertEqual(check(cluster, **kw), [])

    def assert_fails(self, check, mutate, expected, **kw):
        broken = EKS.copy()
        mutate(broken)
        problems = check(broken, **kw)
        self.assertTrue(any(expected in problem for problem in problems), f"{expected!r} not in {problems}")

    def test_only_built_in_kinds_and_no_crd(self):
        self.assert_holds(p.check_api_versions)
        self.assert_fails(p.check_api_versions, lambda c: c.objects.append(
            {"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute", "metadata": {"name": "x"}}),
            "not a built-in GA kind")

    def test_everything_lives_in_the_devopstrack_namespace(self):
        self.assert_holds(p.check_namespace)
        self.assert_fails(p.check_namespace, lambda c: workload(c, "auth")["metadata"].pop("namespace"),
                          "Deployment/auth is in namespace None")

    def test_objects_carry_the_recommended_labels_and_selectors_use_name_and_part_of(self):
        self.assert_holds(p.check_labels)
        self.assert_fails(p.check_labels, lambda c: workload(c, "projects")["spec"]["template"]["metadata"]["labels"]
                          .pop("app.kubernetes.io/component"), "pod template has no app.kubernetes.io/component")
        self.assert_fails(p.check_labels, lambda c: workload(c, "gateway")["spec"]["selector"]["matchLabels"]
                          .update({"app.kubernetes.io/version": "0.1.0"}), "is not name + part-of")
        self.assert_fails(p.check_labels, lambda c: workload(c, "gateway")["spec"]["template"]["metadata"]["labels"]
                          .update({"app.kubernetes.io/version": "9.9.9"}), "not the workspace version")

    def test_images_are_pinned_and_never_latest(self):
        self.assert_holds(p.check_images)
        self.assertEqual(p.check_images(EKS, eks=True), [])
        self.assert_fails(p.check_images, lambda c: container(c, "metrics").update(
            image="ghcr.io/devopstrack/devopstrack-metrics:latest"), "uses :latest")
        self.assert_fails(p.check_images, lambda c: container(c, "redis", "StatefulSet").update(image="redis"),
                          "has no tag")
        self.assert_fails(p.check_images, lambda c: container(c, "projects").update(
            image="ghcr.io/someone-else/devopstrack-projects:0.1.0"), "is not one of ghcr.io/devopstrack/")
        self.assert_fails(p.check_images, lambda c: container(c, "auth").update(
            image="ghcr.io/devopstrack/devopstrack-auth:main"), "neither the workspace version nor a commit SHA",
            eks=True)

    def test_the_all_in_one_carries_no_secret_values(self):
        self.assertEqual(p.check_no_secret_values(EKS), [])
        self.assert_fails(p.check_no_secret_values, lambda c: c.get("ConfigMap", "tasks-config")["data"].update(
            DEVOPSTRACK_TASKS__CLIENT_SECRET="hunter2"), "looks secret but is in a ConfigMap")
        self.assert_fails(p.check_no_secret_values, lambda c: container(c, "postgres", "StatefulSet")["env"].append(
            {"name": "POSTGRES_PASSWORD", "value": "hunter2"}), "has a literal value")
        self.assert_fails(p.check_no_secret_values, lambda c: c.objects.append(
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "devopstrack-secrets"}}), "carry no Secret")

    def test_pods_run_non_root_read_only_without_privileges_or_api_tokens(self):
        self.assert_holds(p.check_security)
        self.assert_fails(p.check_security, lambda c: container(c, "tasks-worker")["securityContext"].update(
            readOnlyRootFilesystem=False), "readOnlyRootFilesystem is not true")
        self.assert_fails(p.check_security, lambda c: workload(c, "gateway")["spec"]["template"]["spec"]
                          ["securityContext"].pop("seccompProfile"), "seccompProfile is not RuntimeDefault")
        self.assert_fails(p.check_security, lambda c: workload(c, "mongodb", "StatefulSet")["spec"]["template"]
                          ["spec"].update(automountServiceAccountToken=True), "automountServiceAccountToken")
        self.assert_fails(p.check_security, lambda c: container(c, "auth")["securityContext"].update(
            capabilities={"drop": ["NET_RAW"]}), "do not drop ALL")
        self.assert_fails(p.check_security, lambda c: container(c, "auth").update(volumeMounts=[]),
                          "no emptyDir at /tmp")

    def test_every_container_requests_cpu_and_memory_and_has_a_memory_limit(self):
        self.assert_holds(p.check_resources)
        self.assert_fails(p.check_resources, lambda c: container(c, "influxdb", "StatefulSet")["resources"]
                          .pop("limits"), "no memory limit")
        self.assert_fails(p.check_resources, lambda c: container(c, "metrics")["resources"]["requests"].pop("cpu"),
                          "no cpu request")

    def test_ports_are_named_and_services_target_them_by_name(self):
        self.assert_holds(p.check_ports_named)
        self.assert_fails(p.check_ports_named, lambda c: container(c, "auth")["ports"][0].pop("name"),
                          "has no name")
        self.assert_fails(p.check_ports_named, lambda c: c.get("Service", "auth")["spec"]["ports"][0].update(
            targetPort=50051), "targets no named port")

    def test_probes_use_what_the_services_serve(self):
        self.assert_holds(p.check_probes)
        self.assert_fails(p.check_probes, lambda c: container(c, "projects").update(
            startupProbe={"httpGet": {"path": "/healthz", "port": "admin"}}), "is not a grpc probe on port 50052")
        self.assert_fails(p.check_probes, lambda c: container(c, "metrics")["readinessProbe"]["httpGet"].update(
            path="/healthz"), "readinessProbe is not GET /readyz")
        self.assert_fails(p.check_probes, lambda c: container(c, "gateway")["livenessProbe"]["httpGet"].update(
            port="admin"), "livenessProbe is not GET /healthz on port 8080")
        self.assert_fails(p.check_probes, lambda c: container(c, "redis", "StatefulSet").pop("readinessProbe"),
                          "no readinessProbe")

    def test_pods_are_annotated_for_prometheus_on_their_admin_port(self):
        self.assert_holds(p.check_prometheus)
        self.assert_fails(p.check_prometheus, lambda c: workload(c, "tasks")["spec"]["template"]["metadata"]
                          ["annotations"].update({"prometheus.io/port": "50053"}), "admin port 9103")

    def test_worker_pods_outlive_their_shutdown_grace(self):
        self.assert_holds(p.check_tasks_drain)
        self.assert_fails(p.check_tasks_drain, lambda c: workload(c, "tasks-worker")["spec"]["template"]["spec"]
                          .update(terminationGracePeriodSeconds=20), "not above the workers' grace")

    def test_redis_keeps_its_jobs(self):
        self.assert_holds(p.check_redis_durable)
        self.assert_fails(p.check_redis_durable, lambda c: container(c, "redis", "StatefulSet").update(
            args=["exec redis-server --appendonly no"]), "--appendonly yes")

    def test_stores_keep_their_data_on_volumes_gp3_on_eks(self):
        self.assert_holds(p.check_storage)
        self.assertEqual(p.check_storage(EKS, storage_class="gp3"), [])
        self.assert_fails(p.check_storage, lambda c: workload(c, "postgres", "StatefulSet")["spec"]
                          ["volumeClaimTemplates"][0]["spec"].pop("storageClassName"), "not on gp3",
                          storage_class="gp3")

    def test_the_gateway_and_the_workers_scale_by_hpa_and_set_no_replicas(self):
        self.assert_holds(p.check_scaling)
        self.assert_fails(p.check_scaling, lambda c: workload(c, "gateway")["spec"].update(replicas=2),
                          "sets spec.replicas although an HPA scales it")
        self.assert_fails(p.check_scaling, lambda c: c.objects.remove(c.get("HorizontalPodAutoscaler",
                                                                             "tasks-worker")), "no HorizontalPod")

    def test_every_deployment_has_one_disruption_budget_of_one(self):
        self.assert_holds(p.check_disruption_budgets)
        self.assert_fails(p.check_disruption_budgets, lambda c: c.objects.remove(c.get("PodDisruptionBudget",
                                                                                        "metrics")),
                          "Deployment/metrics: 0 PodDisruptionBudgets")
        self.assert_fails(p.check_disruption_budgets, lambda c: c.get("PodDisruptionBudget", "auth")["spec"].update(
            maxUnavailable=0), "not maxUnavailable: 1")

    def test_service_selectors_match_a_pod_template(self):
        self.assert_holds(p.check_services)
        self.assert_fails(p.check_services, lambda c: c.get("Service", "tasks")["spec"]["selector"].update(
            {"app.kubernetes.io/name": "task"}), "selects no pod template")
        self.assert_fails(p.check_services, lambda c: c.get("Service", "mongodb")["spec"]["ports"][0].update(
            targetPort="mongo"), "targetPort 'mongo' is no port")

    def test_one_ingress_to_the_gateway_without_a_class_and_with_alb_annotations_on_eks(self):
        self.assert_holds(p.check_ingress)
        self.assertEqual(p.check_ingress(EKS, eks=True), [])
        self.assert_fails(p.check_ingress, lambda c: c.get("Ingress", "devopstrack")["spec"].update(
            ingressClassName="traefik"), "sets ingressClassName")
        self.assert_fails(p.check_ingress, lambda c: c.get("Ingress", "devopstrack")["metadata"].pop("annotations"),
                          "no alb.ingress.kubernetes.io/scheme", eks=True)

    def test_network_policies_allow_exactly_the_graph_the_settings_need(self):
        self.assert_holds(p.check_network_policies)
        # A store reachable from a service that does not own it.
        self.assert_fails(p.check_network_policies, lambda c: c.get("NetworkPolicy", "postgres")["spec"]["ingress"][0]
                          ["from"].append({"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway",
                                                                           "app.kubernetes.io/part-of": "devopstrack"}}}),
                          "allows gateway → postgres:postgres, which no setting needs")
        # A caller the settings need, cut off.
        self.assert_fails(p.check_network_policies, lambda c: c.get("NetworkPolicy", "metrics")["spec"]["ingress"][0]
                          ["from"].pop(), "blocks tasks-worker → metrics:grpc")
        # gRPC opened to the world.
        self.assert_fails(p.check_network_policies, lambda c: c.get("NetworkPolicy", "auth")["spec"]["ingress"][0]
                          .pop("from"), "allows anywhere → auth:grpc")
        self.assert_fails(p.check_network_policies, lambda c: c.objects.remove(c.get("NetworkPolicy", "deny-all")),
                          "no deny-all NetworkPolicy")


if __name__ == "__main__":
    unittest.main()
