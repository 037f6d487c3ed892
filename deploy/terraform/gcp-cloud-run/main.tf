# Bonito's VPC agent on Cloud Run: internal ingress only, Direct VPC egress, its own service account.

locals {
  port                  = 8000
  providers_from_secret = var.credential_source == "config_secret"
  agent_args            = "--host 0.0.0.0 --port ${local.port} --state-dir /var/lib/bonito/agent --log-format json"
}

resource "google_service_account" "agent" {
  project      = var.project
  account_id   = substr(var.name, 0, 30)
  display_name = "Bonito agent"
}

# The default credential chain: this service account calls Vertex AI.
resource "google_project_iam_member" "vertex" {
  project = var.project
  role    = "roles/aiplatform.user"
  member  = "serviceAccount:${google_service_account.agent.email}"
}

resource "google_secret_manager_secret_iam_member" "token" {
  project   = var.project
  secret_id = var.org_token_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.agent.email}"
}

resource "google_secret_manager_secret_iam_member" "providers" {
  count     = local.providers_from_secret ? 1 : 0
  project   = var.project
  secret_id = var.providers_config_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.agent.email}"
}

resource "google_cloud_run_v2_service" "agent" {
  project  = var.project
  name     = var.name
  location = var.region
  ingress  = "INGRESS_TRAFFIC_INTERNAL_ONLY"

  template {
    service_account                  = google_service_account.agent.email
    timeout                          = "300s" # long streams
    max_instance_request_concurrency = 200
    scaling {
      min_instance_count = var.replicas
      max_instance_count = var.max_replicas
    }
    vpc_access {
      egress = "PRIVATE_RANGES_ONLY"
      network_interfaces {
        network    = var.network
        subnetwork = var.subnetwork
      }
    }

    containers {
      image = var.image
      command = local.providers_from_secret ? [
        "sh", "-c",
        "umask 077 && printf '%s' \"$BONITO_PROVIDERS_YAML\" > /tmp/bonito.yaml && exec bonito agent --config /tmp/bonito.yaml ${local.agent_args}",
      ] : ["sh", "-c", "exec bonito agent ${local.agent_args}"]
      ports {
        container_port = local.port
      }
      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
        cpu_idle = false # the agent syncs config and sends heartbeats between requests
      }
      env {
        name  = "BONITO_CONTROL_PLANE"
        value = var.control_plane_url
      }
      env {
        name = "BONITO_ORG_TOKEN"
        value_source {
          secret_key_ref {
            secret  = var.org_token_secret_id
            version = "latest"
          }
        }
      }
      dynamic "env" {
        for_each = local.providers_from_secret ? [1] : []
        content {
          name = "BONITO_PROVIDERS_YAML"
          value_source {
            secret_key_ref {
              secret  = var.providers_config_secret_id
              version = "latest"
            }
          }
        }
      }
      startup_probe {
        http_get {
          path = "/health"
        }
        period_seconds    = 2
        failure_threshold = 30
      }
      liveness_probe {
        http_get {
          path = "/health"
        }
        period_seconds = 15
      }
    }
  }

  depends_on = [google_secret_manager_secret_iam_member.token, google_secret_manager_secret_iam_member.providers]
}

resource "google_cloud_run_v2_service_iam_member" "invokers" {
  for_each = toset(var.invoker_members)
  project  = var.project
  location = var.region
  name     = google_cloud_run_v2_service.agent.name
  role     = "roles/run.invoker"
  member   = each.value
}
