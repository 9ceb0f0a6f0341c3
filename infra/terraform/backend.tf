# Remote state in S3, locked with the S3 backend's native lock file (`use_lockfile = true`, a `<key>.tflock`
# object written with a conditional put). No DynamoDB table: Terraform 1.11 deprecated DynamoDB locking, and one
# bucket is one thing less to create, pay for and secure. The settings come from a file at init time:
#   terraform init -backend-config=backend.hcl      (copy backend.hcl.example; bucket from ./bootstrap)
terraform {
  backend "s3" {}
}
