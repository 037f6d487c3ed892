provider "aws" {
  region = "us-east-1"
}

resource "aws_secretsmanager_secret" "org_token" {
  name = "bonito/agent/org-token"
}
# then: aws secretsmanager put-secret-value --secret-id bonito/agent/org-token --secret-string "bt-..."

resource "aws_iam_policy" "bedrock" {
  name = "bonito-agent-bedrock"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"], Resource = "*" }]
  })
}

module "bonito_agent" {
  source = "../.."

  image                 = "ghcr.io/bonito-ai/bonito:0.1.0"
  control_plane_url     = "https://bonito.example.com"
  org_token_secret_arn  = aws_secretsmanager_secret.org_token.arn
  vpc_id                = "vpc-0123456789abcdef0"
  subnet_ids            = ["subnet-0aaa1111bbbb2222c", "subnet-0ddd3333eeee4444f"]
  allowed_cidr_blocks   = ["10.0.0.0/16"]
  replicas              = 2
  task_role_policy_arns = [aws_iam_policy.bedrock.arn]
}

output "agent_url" {
  value = module.bonito_agent.internal_url
}
