# Bonito's VPC agent on Azure Container Apps, in an internal-only environment of your VNet.

locals {
  port                  = 8000
  providers_from_secret = var.credential_source == "config_secret"
  agent_args            = "--host 0.0.0.0 --port ${local.port} --state-dir /var/lib/bonito/agent --log-format json"
}

# The agent's identity: reads the Key Vault secrets; grant it "Cognitive Services OpenAI User" on
# your Azure OpenAI resources to use them through Entra ID (no API key).
resource "azurerm_user_assigned_identity" "agent" {
  name                = var.name
  resource_group_name = var.resource_group_name
  location            = var.location
  tags                = var.tags
}

resource "azurerm_role_assignment" "secrets" {
  scope                = var.key_vault_id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.agent.principal_id
}

resource "azurerm_container_app_environment" "this" {
  name                           = var.name
  resource_group_name            = var.resource_group_name
  location                       = var.location
  infrastructure_subnet_id       = var.infrastructure_subnet_id
  internal_load_balancer_enabled = true
  log_analytics_workspace_id     = var.log_analytics_workspace_id
  tags                           = var.tags
}

resource "azurerm_container_app" "agent" {
  name                         = var.name
  resource_group_name          = var.resource_group_name
  container_app_environment_id = azurerm_container_app_environment.this.id
  revision_mode                = "Single"
  tags                         = var.tags

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.agent.id]
  }

  secret {
    name                = "org-token"
    key_vault_secret_id = var.org_token_key_vault_secret_id
    identity            = azurerm_user_assigned_identity.agent.id
  }

  dynamic "secret" {
    for_each = local.providers_from_secret ? [1] : []
    content {
      name                = "providers-yaml"
      key_vault_secret_id = var.providers_config_key_vault_secret_id
      identity            = azurerm_user_assigned_identity.agent.id
    }
  }

  ingress {
    external_enabled = true # reachable from the VNet only: the environment is internal
    target_port      = local.port
    transport        = "http"
    traffic_weight {
      latest_revision = true
      percentage      = 100
    }
  }

  template {
    min_replicas = var.replicas
    max_replicas = var.max_replicas

    container {
      name   = "agent"
      image  = var.image
      cpu    = var.cpu
      memory = var.memory
      command = local.providers_from_secret ? [
        "sh", "-c",
        "umask 077 && printf '%s' \"$BONITO_PROVIDERS_YAML\" > /tmp/bonito.yaml && exec bonito agent --config /tmp/bonito.yaml ${local.agent_args}",
      ] : ["sh", "-c", "exec bonito agent ${local.agent_args}"]

      env {
        name  = "BONITO_CONTROL_PLANE"
        value = var.control_plane_url
      }
      env {
        name        = "BONITO_ORG_TOKEN"
        secret_name = "org-token"
      }
      env {
        name  = "AZURE_CLIENT_ID" # azure-identity's default chain uses this user-assigned identity
        value = azurerm_user_assigned_identity.agent.client_id
      }
      dynamic "env" {
        for_each = local.providers_from_secret ? [1] : []
        content {
          name        = "BONITO_PROVIDERS_YAML"
          secret_name = "providers-yaml"
        }
      }

      liveness_probe {
        transport = "HTTP"
        port      = local.port
        path      = "/health"
      }
      readiness_probe {
        transport = "HTTP"
        port      = local.port
        path      = "/health/ready"
      }
    }
  }

  depends_on = [azurerm_role_assignment.secrets]
}
