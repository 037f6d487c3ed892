# Bonito's VPC agent on ECS Fargate behind an internal Application Load Balancer.

data "aws_region" "current" {}

locals {
  port                  = 8000
  providers_from_secret = var.credential_source == "config_secret"
  # the agent reads provider credentials from a file: write the secret's YAML there, then start
  command = local.providers_from_secret ? [
    "sh", "-c",
    "umask 077 && printf '%s' \"$BONITO_PROVIDERS_YAML\" > /tmp/bonito.yaml && exec bonito agent --config /tmp/bonito.yaml --host 0.0.0.0 --port ${local.port} --state-dir /var/lib/bonito/agent --log-format json",
    ] : [
    "bonito", "agent", "--host", "0.0.0.0", "--port", tostring(local.port),
    "--state-dir", "/var/lib/bonito/agent", "--log-format", "json",
  ]
  secrets = concat(
    [{ name = "BONITO_ORG_TOKEN", valueFrom = var.org_token_secret_arn }],
    local.providers_from_secret ? [{ name = "BONITO_PROVIDERS_YAML", valueFrom = var.providers_config_secret_arn }] : [],
  )
}

resource "aws_ecs_cluster" "this" {
  name = var.name
  tags = var.tags
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# Pulls the image, writes logs, reads the token (and providers) secrets.
resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "secrets" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = compact([var.org_token_secret_arn, var.providers_config_secret_arn])
  }
}

resource "aws_iam_role_policy" "secrets" {
  name   = "read-bonito-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.secrets.json
}

# The agent's own identity: the default credential chain for Bedrock.
resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "task" {
  for_each   = toset(var.task_role_policy_arns)
  role       = aws_iam_role.task.name
  policy_arn = each.value
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  volume {
    name = "data"
  }
  volume {
    name = "tmp"
  }
  container_definitions = jsonencode([{
    name                   = "agent"
    image                  = var.image
    essential              = true
    command                = local.command
    readonlyRootFilesystem = true
    portMappings           = [{ containerPort = local.port, protocol = "tcp" }]
    environment = [
      { name = "BONITO_CONTROL_PLANE", value = var.control_plane_url },
      { name = "BONITO_DATA_DIR", value = "/var/lib/bonito" },
    ]
    secrets     = local.secrets
    mountPoints = [{ sourceVolume = "data", containerPath = "/var/lib/bonito" }, { sourceVolume = "tmp", containerPath = "/tmp" }]
    healthCheck = {
      command     = ["CMD", "python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:${local.port}/health', timeout=2).status != 200)"]
      interval    = 15
      timeout     = 5
      retries     = 3
      startPeriod = 20
    }
    stopTimeout = 40
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.this.name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = "agent"
      }
    }
  }])
  tags = var.tags
}

resource "aws_security_group" "lb" {
  name        = "${var.name}-lb"
  description = "Callers of the Bonito agent"
  vpc_id      = var.vpc_id
  ingress {
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = var.allowed_cidr_blocks
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
  tags = var.tags
}

resource "aws_security_group" "task" {
  name        = "${var.name}-task"
  description = "Bonito agent tasks: from the load balancer; out to the control plane and the providers"
  vpc_id      = var.vpc_id
  ingress {
    from_port       = local.port
    to_port         = local.port
    protocol        = "tcp"
    security_groups = [aws_security_group.lb.id]
  }
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
  tags = var.tags
}

resource "aws_lb" "this" {
  name               = substr(var.name, 0, 32)
  internal           = true
  load_balancer_type = "application"
  security_groups    = [aws_security_group.lb.id]
  subnets            = var.subnet_ids
  idle_timeout       = 300 # long streams
  tags               = var.tags
}

resource "aws_lb_target_group" "this" {
  name                 = substr(var.name, 0, 32)
  port                 = local.port
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = var.vpc_id
  deregistration_delay = 35
  health_check {
    path    = "/health/ready"
    matcher = "200"
  }
  tags = var.tags
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }
}

resource "aws_ecs_service" "this" {
  name            = var.name
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.this.arn
  desired_count   = var.replicas
  launch_type     = "FARGATE"
  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.task.id]
    assign_public_ip = false
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = "agent"
    container_port   = local.port
  }
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  depends_on                         = [aws_lb_listener.http]
  tags                               = var.tags
}
