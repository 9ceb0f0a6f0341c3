output "cluster_name" {
  description = "Name of the EKS cluster (GitHub variable EKS_CLUSTER_NAME)."
  value       = module.eks.cluster_name
}

output "region" {
  description = "AWS region of the cluster (GitHub variable AWS_REGION)."
  value       = var.region
}

output "kubeconfig_command" {
  description = "Writes a kubeconfig entry for the cluster."
  value       = "aws eks update-kubeconfig --region ${var.region} --name ${module.eks.cluster_name}"
}

output "deploy_role_arn" {
  description = "Role that deploy-eks.yml assumes (GitHub variable AWS_DEPLOY_ROLE_ARN)."
  value       = module.github_deploy_role.arn
}

output "terraform_role_arn" {
  description = "Role that infra.yml assumes to apply (GitHub variable AWS_TERRAFORM_ROLE_ARN)."
  value       = module.github_terraform_role.arn
}

output "plan_role_arn" {
  description = "Role that infra.yml assumes to plan pull requests (GitHub variable AWS_PLAN_ROLE_ARN); null when disabled."
  value       = var.enable_github_plan_role ? module.github_plan_role.arn : null
}

output "app_namespace" {
  description = "Namespace the deploy role may write to."
  value       = kubernetes_namespace_v1.app.metadata[0].name
}

output "ecr_repository_urls" {
  description = "ECR repository URL per service (empty unless create_ecr_repositories)."
  value       = { for k, r in aws_ecr_repository.service : k => r.repository_url }
}
