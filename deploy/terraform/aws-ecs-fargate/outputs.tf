output "internal_url" {
  description = "The agent's OpenAI-compatible base URL inside the VPC (append /v1)."
  value       = "http://${aws_lb.this.dns_name}"
}

output "task_role_arn" {
  description = "The agent's IAM role: grant it Bedrock access."
  value       = aws_iam_role.task.arn
}

output "security_group_id" {
  description = "Security group of the internal load balancer."
  value       = aws_security_group.lb.id
}
