-- ZenML 0.98.0 schema for MySQL/MariaDB (create_all path), from `mariadb-dump --no-data`.
-- Regenerate/check with scripts/schema.py.
CREATE TABLE `alembic_version` (
  `version_num` varchar(32) NOT NULL,
  PRIMARY KEY (`version_num`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `api_key` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `description` text DEFAULT NULL,
  `key` varchar(255) NOT NULL,
  `previous_key` varchar(255) DEFAULT NULL,
  `key_generation` int(11) NOT NULL,
  `retain_period` int(11) NOT NULL,
  `active` tinyint(1) NOT NULL,
  `last_login` datetime DEFAULT NULL,
  `last_rotated` datetime DEFAULT NULL,
  `service_account_id` char(32) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_api_key_name_in_service_account` (`name`,`service_account_id`),
  KEY `fk_api_key_service_account_id_user` (`service_account_id`),
  CONSTRAINT `fk_api_key_service_account_id_user` FOREIGN KEY (`service_account_id`) REFERENCES `user` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `api_transaction` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `method` varchar(255) NOT NULL,
  `url` text NOT NULL,
  `completed` tinyint(1) NOT NULL,
  `expired` datetime DEFAULT NULL,
  `user_id` char(32) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_api_transaction_user_id_user` (`user_id`),
  KEY `ix_api_transaction_completed_expired` (`completed`,`expired`),
  CONSTRAINT `fk_api_transaction_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `api_transaction_result` (
  `id` char(32) NOT NULL,
  `result` mediumblob NOT NULL,
  PRIMARY KEY (`id`),
  CONSTRAINT `fk_api_transaction_result_id_api_transaction` FOREIGN KEY (`id`) REFERENCES `api_transaction` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `artifact` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `has_custom_name` tinyint(1) NOT NULL,
  `project_id` char(32) NOT NULL,
  `user_id` char(32) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_artifact_name_in_project` (`name`,`project_id`),
  KEY `fk_artifact_project_id_project` (`project_id`),
  KEY `fk_artifact_user_id_user` (`user_id`),
  CONSTRAINT `fk_artifact_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_artifact_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `artifact_version` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `version` varchar(255) NOT NULL,
  `version_number` int(11) DEFAULT NULL,
  `type` varchar(255) NOT NULL,
  `uri` text NOT NULL,
  `materializer` text NOT NULL,
  `data_type` text NOT NULL,
  `save_type` text NOT NULL,
  `content_hash` text DEFAULT NULL,
  `item_count` int(11) DEFAULT NULL,
  `artifact_id` char(32) NOT NULL,
  `artifact_store_id` char(32) DEFAULT NULL,
  `user_id` char(32) DEFAULT NULL,
  `project_id` char(32) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_version_for_artifact_id` (`version`,`artifact_id`),
  KEY `fk_artifact_version_artifact_store_id_stack_component` (`artifact_store_id`),
  KEY `fk_artifact_version_user_id_user` (`user_id`),
  KEY `fk_artifact_version_project_id_project` (`project_id`),
  KEY `ix_artifact_version_artifact_id_version_number` (`artifact_id`,`version_number`),
  CONSTRAINT `fk_artifact_version_artifact_id_artifact` FOREIGN KEY (`artifact_id`) REFERENCES `artifact` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_artifact_version_artifact_store_id_stack_component` FOREIGN KEY (`artifact_store_id`) REFERENCES `stack_component` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_artifact_version_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_artifact_version_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `artifact_visualization` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `type` varchar(255) NOT NULL,
  `uri` text NOT NULL,
  `artifact_version_id` char(32) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_artifact_visualization_artifact_version_id_artifact_version` (`artifact_version_id`),
  CONSTRAINT `fk_artifact_visualization_artifact_version_id_artifact_version` FOREIGN KEY (`artifact_version_id`) REFERENCES `artifact_version` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `auth_devices` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `client_id` char(32) NOT NULL,
  `user_code` varchar(255) NOT NULL,
  `device_code` varchar(255) NOT NULL,
  `status` varchar(255) NOT NULL,
  `failed_auth_attempts` int(11) NOT NULL,
  `expires` datetime DEFAULT NULL,
  `last_login` datetime DEFAULT NULL,
  `trusted_device` tinyint(1) NOT NULL,
  `os` varchar(255) DEFAULT NULL,
  `ip_address` varchar(255) DEFAULT NULL,
  `hostname` varchar(255) DEFAULT NULL,
  `python_version` varchar(255) DEFAULT NULL,
  `zenml_version` varchar(255) DEFAULT NULL,
  `city` varchar(255) DEFAULT NULL,
  `region` varchar(255) DEFAULT NULL,
  `country` varchar(255) DEFAULT NULL,
  `user_id` char(32) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_auth_devices_user_id_user` (`user_id`),
  CONSTRAINT `fk_auth_devices_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `code_reference` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `project_id` char(32) NOT NULL,
  `code_repository_id` char(32) NOT NULL,
  `commit` varchar(255) NOT NULL,
  `subdirectory` varchar(255) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_code_reference_project_id_project` (`project_id`),
  KEY `fk_code_reference_code_repository_id_code_repository` (`code_repository_id`),
  CONSTRAINT `fk_code_reference_code_repository_id_code_repository` FOREIGN KEY (`code_repository_id`) REFERENCES `code_repository` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_code_reference_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `code_repository` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `project_id` char(32) NOT NULL,
  `user_id` char(32) DEFAULT NULL,
  `config` text NOT NULL,
  `source` text NOT NULL,
  `logo_url` varchar(255) DEFAULT NULL,
  `description` text DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_code_repository_name_in_project` (`name`,`project_id`),
  KEY `fk_code_repository_project_id_project` (`project_id`),
  KEY `fk_code_repository_user_id_user` (`user_id`),
  CONSTRAINT `fk_code_repository_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_code_repository_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `curated_visualization` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `project_id` char(32) NOT NULL,
  `artifact_visualization_id` char(32) NOT NULL,
  `display_name` varchar(255) DEFAULT NULL,
  `display_order` int(11) DEFAULT NULL,
  `layout_size` varchar(255) NOT NULL,
  `resource_id` char(32) NOT NULL,
  `resource_type` varchar(255) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_curated_visualization_resource_link` (`artifact_visualization_id`,`resource_id`,`resource_type`),
  KEY `fk_curated_visualization_project_id_project` (`project_id`),
  CONSTRAINT `fk_curated_visualization_artifact_visualization_id` FOREIGN KEY (`artifact_visualization_id`) REFERENCES `artifact_visualization` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_curated_visualization_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `deployment` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `project_id` char(32) NOT NULL,
  `user_id` char(32) DEFAULT NULL,
  `status` varchar(255) NOT NULL,
  `url` text DEFAULT NULL,
  `auth_key` text DEFAULT NULL,
  `deployment_metadata` mediumtext NOT NULL,
  `snapshot_id` char(32) DEFAULT NULL,
  `deployer_id` char(32) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_deployment_name_in_project` (`name`,`project_id`),
  KEY `fk_deployment_project_id_project` (`project_id`),
  KEY `fk_deployment_user_id_user` (`user_id`),
  KEY `fk_deployment_snapshot_id_pipeline_snapshot` (`snapshot_id`),
  KEY `fk_deployment_deployer_id_stack_component` (`deployer_id`),
  CONSTRAINT `fk_deployment_deployer_id_stack_component` FOREIGN KEY (`deployer_id`) REFERENCES `stack_component` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_deployment_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_deployment_snapshot_id_pipeline_snapshot` FOREIGN KEY (`snapshot_id`) REFERENCES `pipeline_snapshot` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_deployment_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `flavor` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `type` varchar(255) NOT NULL,
  `source` varchar(255) NOT NULL,
  `display_name` varchar(255) DEFAULT NULL,
  `config_schema` text NOT NULL,
  `integration` varchar(255) DEFAULT NULL,
  `connector_type` varchar(255) DEFAULT NULL,
  `connector_resource_type` varchar(255) DEFAULT NULL,
  `connector_resource_id_attr` varchar(255) DEFAULT NULL,
  `user_id` char(32) DEFAULT NULL,
  `logo_url` varchar(255) DEFAULT NULL,
  `docs_url` varchar(255) DEFAULT NULL,
  `sdk_docs_url` varchar(255) DEFAULT NULL,
  `is_custom` tinyint(1) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_flavor_name_and_type` (`name`,`type`),
  KEY `fk_flavor_user_id_user` (`user_id`),
  CONSTRAINT `fk_flavor_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `hook_invocation` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `hook_type` varchar(255) NOT NULL,
  `name` varchar(255) DEFAULT NULL,
  `status` varchar(255) NOT NULL,
  `start_time` datetime NOT NULL,
  `end_time` datetime DEFAULT NULL,
  `source` varchar(255) DEFAULT NULL,
  `exception_info` mediumtext DEFAULT NULL,
  `pipeline_run_id` char(32) NOT NULL,
  `step_run_id` char(32) DEFAULT NULL,
  `user_id` char(32) DEFAULT NULL,
  `project_id` char(32) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_hook_invocation_pipeline_run_id_pipeline_run` (`pipeline_run_id`),
  KEY `fk_hook_invocation_step_run_id_step_run` (`step_run_id`),
  KEY `fk_hook_invocation_user_id_user` (`user_id`),
  KEY `fk_hook_invocation_project_id_project` (`project_id`),
  CONSTRAINT `fk_hook_invocation_pipeline_run_id_pipeline_run` FOREIGN KEY (`pipeline_run_id`) REFERENCES `pipeline_run` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_hook_invocation_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_hook_invocation_step_run_id_step_run` FOREIGN KEY (`step_run_id`) REFERENCES `step_run` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_hook_invocation_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `hook_invocation_output_artifact` (
  `name` varchar(255) NOT NULL,
  `hook_invocation_id` char(32) NOT NULL,
  `artifact_version_id` char(32) NOT NULL,
  PRIMARY KEY (`name`,`hook_invocation_id`,`artifact_version_id`),
  KEY `fk_hook_invocation_output_artifact_hook_invocation_id` (`hook_invocation_id`),
  KEY `fk_hook_invocation_output_artifact_artifact_version_id` (`artifact_version_id`),
  CONSTRAINT `fk_hook_invocation_output_artifact_artifact_version_id` FOREIGN KEY (`artifact_version_id`) REFERENCES `artifact_version` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_hook_invocation_output_artifact_hook_invocation_id` FOREIGN KEY (`hook_invocation_id`) REFERENCES `hook_invocation` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `logs` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `uri` text DEFAULT NULL,
  `source` varchar(255) NOT NULL,
  `project_id` char(32) NOT NULL,
  `user_id` char(32) DEFAULT NULL,
  `pipeline_run_id` char(32) DEFAULT NULL,
  `step_run_id` char(32) DEFAULT NULL,
  `artifact_store_id` char(32) DEFAULT NULL,
  `log_store_id` char(32) DEFAULT NULL,
  `hook_invocation_id` char(32) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_logs_project_id_project` (`project_id`),
  KEY `fk_logs_user_id_user` (`user_id`),
  KEY `fk_logs_pipeline_run_id_pipeline_run` (`pipeline_run_id`),
  KEY `fk_logs_step_run_id_step_run` (`step_run_id`),
  KEY `fk_logs_artifact_store_id_stack_component` (`artifact_store_id`),
  KEY `fk_logs_log_store_id_stack_component` (`log_store_id`),
  KEY `fk_logs_hook_invocation_id_hook_invocation` (`hook_invocation_id`),
  CONSTRAINT `fk_logs_artifact_store_id_stack_component` FOREIGN KEY (`artifact_store_id`) REFERENCES `stack_component` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_logs_hook_invocation_id_hook_invocation` FOREIGN KEY (`hook_invocation_id`) REFERENCES `hook_invocation` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_logs_log_store_id_stack_component` FOREIGN KEY (`log_store_id`) REFERENCES `stack_component` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_logs_pipeline_run_id_pipeline_run` FOREIGN KEY (`pipeline_run_id`) REFERENCES `pipeline_run` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_logs_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_logs_step_run_id_step_run` FOREIGN KEY (`step_run_id`) REFERENCES `step_run` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_logs_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `model` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `project_id` char(32) NOT NULL,
  `user_id` char(32) DEFAULT NULL,
  `license` text DEFAULT NULL,
  `description` text DEFAULT NULL,
  `audience` text DEFAULT NULL,
  `use_cases` text DEFAULT NULL,
  `limitations` text DEFAULT NULL,
  `trade_offs` text DEFAULT NULL,
  `ethics` text DEFAULT NULL,
  `save_models_to_registry` tinyint(1) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_model_name_in_project` (`name`,`project_id`),
  KEY `fk_model_project_id_project` (`project_id`),
  KEY `fk_model_user_id_user` (`user_id`),
  CONSTRAINT `fk_model_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_model_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `model_version` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `project_id` char(32) NOT NULL,
  `user_id` char(32) DEFAULT NULL,
  `model_id` char(32) NOT NULL,
  `number` int(11) NOT NULL,
  `description` text DEFAULT NULL,
  `stage` text DEFAULT NULL,
  `producer_run_id_if_numeric` char(32) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_version_number_for_model_id` (`number`,`model_id`),
  UNIQUE KEY `unique_version_for_model_id` (`name`,`model_id`),
  UNIQUE KEY `unique_numeric_version_for_pipeline_run` (`model_id`,`producer_run_id_if_numeric`),
  KEY `fk_model_version_project_id_project` (`project_id`),
  KEY `fk_model_version_user_id_user` (`user_id`),
  CONSTRAINT `fk_model_version_model_id_model` FOREIGN KEY (`model_id`) REFERENCES `model` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_model_version_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_model_version_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `model_versions_artifacts` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `model_version_id` char(32) NOT NULL,
  `artifact_version_id` char(32) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_model_versions_artifacts_model_version_id_model_version` (`model_version_id`),
  KEY `fk_model_versions_artifacts_artifact_version_id_artifact_version` (`artifact_version_id`),
  CONSTRAINT `fk_model_versions_artifacts_artifact_version_id_artifact_version` FOREIGN KEY (`artifact_version_id`) REFERENCES `artifact_version` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_model_versions_artifacts_model_version_id_model_version` FOREIGN KEY (`model_version_id`) REFERENCES `model_version` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `model_versions_runs` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `model_version_id` char(32) NOT NULL,
  `pipeline_run_id` char(32) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_model_versions_runs_model_version_id_model_version` (`model_version_id`),
  KEY `fk_model_versions_runs_pipeline_run_id_pipeline_run` (`pipeline_run_id`),
  CONSTRAINT `fk_model_versions_runs_model_version_id_model_version` FOREIGN KEY (`model_version_id`) REFERENCES `model_version` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_model_versions_runs_pipeline_run_id_pipeline_run` FOREIGN KEY (`pipeline_run_id`) REFERENCES `pipeline_run` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `pipeline` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `description` text DEFAULT NULL,
  `project_id` char(32) NOT NULL,
  `user_id` char(32) DEFAULT NULL,
  `run_count` int(11) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_pipeline_name_in_project` (`name`,`project_id`),
  KEY `fk_pipeline_project_id_project` (`project_id`),
  KEY `fk_pipeline_user_id_user` (`user_id`),
  CONSTRAINT `fk_pipeline_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_pipeline_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `pipeline_build` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `user_id` char(32) DEFAULT NULL,
  `project_id` char(32) NOT NULL,
  `stack_id` char(32) DEFAULT NULL,
  `pipeline_id` char(32) DEFAULT NULL,
  `images` mediumtext NOT NULL,
  `is_local` tinyint(1) NOT NULL,
  `contains_code` tinyint(1) NOT NULL,
  `zenml_version` varchar(255) DEFAULT NULL,
  `python_version` varchar(255) DEFAULT NULL,
  `checksum` varchar(255) DEFAULT NULL,
  `stack_checksum` varchar(255) DEFAULT NULL,
  `duration` int(11) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_pipeline_build_user_id_user` (`user_id`),
  KEY `fk_pipeline_build_project_id_project` (`project_id`),
  KEY `fk_pipeline_build_stack_id_stack` (`stack_id`),
  KEY `fk_pipeline_build_pipeline_id_pipeline` (`pipeline_id`),
  CONSTRAINT `fk_pipeline_build_pipeline_id_pipeline` FOREIGN KEY (`pipeline_id`) REFERENCES `pipeline` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_pipeline_build_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_pipeline_build_stack_id_stack` FOREIGN KEY (`stack_id`) REFERENCES `stack` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_pipeline_build_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `pipeline_run` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `orchestrator_run_id` varchar(255) DEFAULT NULL,
  `start_time` datetime DEFAULT NULL,
  `end_time` datetime DEFAULT NULL,
  `in_progress` tinyint(1) NOT NULL,
  `status` varchar(255) NOT NULL,
  `status_reason` varchar(255) DEFAULT NULL,
  `orchestrator_environment` text DEFAULT NULL,
  `index` int(11) NOT NULL,
  `enable_heartbeat` tinyint(1) NOT NULL,
  `exception_info` mediumtext DEFAULT NULL,
  `child_key` varchar(255) DEFAULT NULL,
  `snapshot_id` char(32) DEFAULT NULL,
  `user_id` char(32) DEFAULT NULL,
  `project_id` char(32) NOT NULL,
  `pipeline_id` char(32) DEFAULT NULL,
  `model_version_id` char(32) DEFAULT NULL,
  `pipeline_configuration` text DEFAULT NULL,
  `client_environment` text DEFAULT NULL,
  `stack_id` char(32) DEFAULT NULL,
  `build_id` char(32) DEFAULT NULL,
  `schedule_id` char(32) DEFAULT NULL,
  `original_run_id` char(32) DEFAULT NULL,
  `parent_run_id` char(32) DEFAULT NULL,
  `root_run_id` char(32) DEFAULT NULL,
  `triggered_by` char(32) DEFAULT NULL,
  `triggered_by_type` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_run_name_in_project` (`name`,`project_id`),
  UNIQUE KEY `unique_orchestrator_run_id_for_snapshot_id` (`snapshot_id`,`orchestrator_run_id`),
  UNIQUE KEY `unique_child_key_for_parent_run_id` (`parent_run_id`,`child_key`),
  KEY `fk_pipeline_run_user_id_user` (`user_id`),
  KEY `fk_pipeline_run_model_version_id_model_version` (`model_version_id`),
  KEY `fk_pipeline_run_stack_id_stack` (`stack_id`),
  KEY `fk_pipeline_run_build_id_pipeline_build` (`build_id`),
  KEY `fk_pipeline_run_schedule_id_schedule` (`schedule_id`),
  KEY `fk_pipeline_run_original_run_id_pipeline_run` (`original_run_id`),
  KEY `fk_pipeline_run_root_run_id_pipeline_run` (`root_run_id`),
  KEY `ix_pipeline_run_pipeline_id_created` (`pipeline_id`,`created`),
  KEY `ix_pipeline_run_triggered_by_triggered_by_type` (`triggered_by`,`triggered_by_type`),
  KEY `ix_pipeline_run_project_id_created_id` (`project_id`,`created`,`id`),
  CONSTRAINT `fk_pipeline_run_build_id_pipeline_build` FOREIGN KEY (`build_id`) REFERENCES `pipeline_build` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_pipeline_run_model_version_id_model_version` FOREIGN KEY (`model_version_id`) REFERENCES `model_version` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_pipeline_run_original_run_id_pipeline_run` FOREIGN KEY (`original_run_id`) REFERENCES `pipeline_run` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_pipeline_run_parent_run_id_pipeline_run` FOREIGN KEY (`parent_run_id`) REFERENCES `pipeline_run` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_pipeline_run_pipeline_id_pipeline` FOREIGN KEY (`pipeline_id`) REFERENCES `pipeline` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_pipeline_run_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_pipeline_run_root_run_id_pipeline_run` FOREIGN KEY (`root_run_id`) REFERENCES `pipeline_run` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_pipeline_run_schedule_id_schedule` FOREIGN KEY (`schedule_id`) REFERENCES `schedule` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_pipeline_run_snapshot_id_pipeline_snapshot` FOREIGN KEY (`snapshot_id`) REFERENCES `pipeline_snapshot` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_pipeline_run_stack_id_stack` FOREIGN KEY (`stack_id`) REFERENCES `stack` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_pipeline_run_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `pipeline_run_output` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `output_index` int(11) NOT NULL,
  `pipeline_run_id` char(32) NOT NULL,
  `artifact_id` char(32) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_pipeline_run_output_name` (`pipeline_run_id`,`name`),
  UNIQUE KEY `unique_pipeline_run_output_index` (`pipeline_run_id`,`output_index`),
  KEY `fk_pipeline_run_output_artifact_id_artifact_version` (`artifact_id`),
  CONSTRAINT `fk_pipeline_run_output_artifact_id_artifact_version` FOREIGN KEY (`artifact_id`) REFERENCES `artifact_version` (`id`),
  CONSTRAINT `fk_pipeline_run_output_pipeline_run_id_pipeline_run` FOREIGN KEY (`pipeline_run_id`) REFERENCES `pipeline_run` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `pipeline_snapshot` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) DEFAULT NULL,
  `description` mediumtext DEFAULT NULL,
  `is_dynamic` tinyint(1) NOT NULL,
  `pipeline_configuration` mediumtext NOT NULL,
  `client_environment` text NOT NULL,
  `run_name_template` varchar(255) NOT NULL,
  `client_version` varchar(255) DEFAULT NULL,
  `server_version` varchar(255) DEFAULT NULL,
  `pipeline_version_hash` varchar(255) DEFAULT NULL,
  `pipeline_spec` mediumtext DEFAULT NULL,
  `source_code` text DEFAULT NULL,
  `code_path` varchar(255) DEFAULT NULL,
  `user_id` char(32) DEFAULT NULL,
  `project_id` char(32) NOT NULL,
  `stack_id` char(32) DEFAULT NULL,
  `pipeline_id` char(32) NOT NULL,
  `schedule_id` char(32) DEFAULT NULL,
  `build_id` char(32) DEFAULT NULL,
  `code_reference_id` char(32) DEFAULT NULL,
  `source_snapshot_id` char(32) DEFAULT NULL,
  `template_id` char(32) DEFAULT NULL,
  `step_count` int(11) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_name_for_pipeline_id` (`pipeline_id`,`name`),
  KEY `fk_pipeline_snapshot_user_id_user` (`user_id`),
  KEY `fk_pipeline_snapshot_stack_id_stack` (`stack_id`),
  KEY `fk_pipeline_snapshot_schedule_id_schedule` (`schedule_id`),
  KEY `fk_pipeline_snapshot_build_id_pipeline_build` (`build_id`),
  KEY `fk_pipeline_snapshot_code_reference_id_code_reference` (`code_reference_id`),
  KEY `ix_pipeline_snapshot_project_id_name` (`project_id`,`name`),
  KEY `ix_pipeline_snapshot_source_snapshot_id` (`source_snapshot_id`),
  KEY `ix_pipeline_snapshot_project_id_created_id` (`project_id`,`created`,`id`),
  CONSTRAINT `fk_pipeline_snapshot_build_id_pipeline_build` FOREIGN KEY (`build_id`) REFERENCES `pipeline_build` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_pipeline_snapshot_code_reference_id_code_reference` FOREIGN KEY (`code_reference_id`) REFERENCES `code_reference` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_pipeline_snapshot_pipeline_id_pipeline` FOREIGN KEY (`pipeline_id`) REFERENCES `pipeline` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_pipeline_snapshot_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_pipeline_snapshot_schedule_id_schedule` FOREIGN KEY (`schedule_id`) REFERENCES `schedule` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_pipeline_snapshot_stack_id_stack` FOREIGN KEY (`stack_id`) REFERENCES `stack` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_pipeline_snapshot_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `project` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `display_name` varchar(255) NOT NULL,
  `description` varchar(255) NOT NULL,
  `project_metadata` mediumtext DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_project_name` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `run_metadata` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `stack_component_id` char(32) DEFAULT NULL,
  `user_id` char(32) DEFAULT NULL,
  `project_id` char(32) NOT NULL,
  `key` varchar(255) NOT NULL,
  `value` text NOT NULL,
  `type` varchar(255) NOT NULL,
  `publisher_step_id` char(32) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_run_metadata_stack_component_id_stack_component` (`stack_component_id`),
  KEY `fk_run_metadata_user_id_user` (`user_id`),
  KEY `fk_run_metadata_project_id_project` (`project_id`),
  KEY `fk_run_metadata_publisher_step_id_step_run` (`publisher_step_id`),
  KEY `ix_run_metadata_key` (`key`),
  CONSTRAINT `fk_run_metadata_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_run_metadata_publisher_step_id_step_run` FOREIGN KEY (`publisher_step_id`) REFERENCES `step_run` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_run_metadata_stack_component_id_stack_component` FOREIGN KEY (`stack_component_id`) REFERENCES `stack_component` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_run_metadata_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `run_metadata_resource` (
  `id` char(32) NOT NULL,
  `resource_id` char(32) NOT NULL,
  `resource_type` varchar(255) NOT NULL,
  `run_metadata_id` char(32) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_run_metadata_resource_run_metadata_id_run_metadata` (`run_metadata_id`),
  KEY `ix_run_metadata_resource_resource_id_resource_type_run_metadata_` (`resource_id`,`resource_type`,`run_metadata_id`),
  CONSTRAINT `fk_run_metadata_resource_run_metadata_id_run_metadata` FOREIGN KEY (`run_metadata_id`) REFERENCES `run_metadata` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `run_template` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `hidden` tinyint(1) NOT NULL,
  `description` mediumtext DEFAULT NULL,
  `user_id` char(32) DEFAULT NULL,
  `project_id` char(32) NOT NULL,
  `source_snapshot_id` char(32) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_template_name_in_project` (`name`,`project_id`),
  KEY `fk_run_template_user_id_user` (`user_id`),
  KEY `fk_run_template_project_id_project` (`project_id`),
  KEY `fk_run_template_source_snapshot_id_pipeline_snapshot` (`source_snapshot_id`),
  CONSTRAINT `fk_run_template_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_run_template_source_snapshot_id_pipeline_snapshot` FOREIGN KEY (`source_snapshot_id`) REFERENCES `pipeline_snapshot` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_run_template_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `run_wait_condition` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `run_id` char(32) NOT NULL,
  `project_id` char(32) NOT NULL,
  `user_id` char(32) DEFAULT NULL,
  `resolved_by_user_id` char(32) DEFAULT NULL,
  `type` varchar(255) NOT NULL,
  `status` varchar(255) NOT NULL,
  `name` varchar(255) NOT NULL,
  `question` varchar(255) DEFAULT NULL,
  `data_schema_json` text DEFAULT NULL,
  `resolution` varchar(255) DEFAULT NULL,
  `result_json` text DEFAULT NULL,
  `last_polled_at` datetime DEFAULT NULL,
  `poller_instance_id` varchar(255) DEFAULT NULL,
  `poller_lease_expires_at` datetime DEFAULT NULL,
  `resolved_at` datetime DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_wait_condition_name_per_run` (`run_id`,`name`),
  KEY `fk_run_wait_condition_user_id_user` (`user_id`),
  KEY `fk_run_wait_condition_resolved_by_user_id_user` (`resolved_by_user_id`),
  KEY `ix_run_wait_condition_project_id_created` (`project_id`,`created`),
  KEY `ix_run_wait_condition_run_id_status` (`run_id`,`status`),
  CONSTRAINT `fk_run_wait_condition_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_run_wait_condition_resolved_by_user_id_user` FOREIGN KEY (`resolved_by_user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_run_wait_condition_run_id_pipeline_run` FOREIGN KEY (`run_id`) REFERENCES `pipeline_run` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_run_wait_condition_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL,
  CONSTRAINT `ck_run_wait_condition_resolved_requires_resolution` CHECK (`status` <> 'resolved' or `resolution` is not null)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `schedule` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `project_id` char(32) NOT NULL,
  `user_id` char(32) DEFAULT NULL,
  `pipeline_id` char(32) DEFAULT NULL,
  `orchestrator_id` char(32) DEFAULT NULL,
  `active` tinyint(1) NOT NULL,
  `cron_expression` varchar(255) DEFAULT NULL,
  `start_time` datetime DEFAULT NULL,
  `end_time` datetime DEFAULT NULL,
  `interval_second` float DEFAULT NULL,
  `catchup` tinyint(1) NOT NULL,
  `run_once_start_time` datetime DEFAULT NULL,
  `is_archived` tinyint(1) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_schedule_name_in_project` (`name`,`project_id`),
  KEY `fk_schedule_project_id_project` (`project_id`),
  KEY `fk_schedule_user_id_user` (`user_id`),
  KEY `fk_schedule_pipeline_id_pipeline` (`pipeline_id`),
  KEY `fk_schedule_orchestrator_id_stack_component` (`orchestrator_id`),
  CONSTRAINT `fk_schedule_orchestrator_id_stack_component` FOREIGN KEY (`orchestrator_id`) REFERENCES `stack_component` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_schedule_pipeline_id_pipeline` FOREIGN KEY (`pipeline_id`) REFERENCES `pipeline` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_schedule_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_schedule_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `secret` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `private` tinyint(1) NOT NULL,
  `internal` tinyint(1) NOT NULL,
  `values` mediumtext DEFAULT NULL,
  `user_id` char(32) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_secret_name_private_scope_user` (`name`,`private`,`user_id`),
  KEY `fk_secret_user_id_user` (`user_id`),
  CONSTRAINT `fk_secret_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `secret_resource` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `secret_id` char(32) NOT NULL,
  `resource_id` char(32) NOT NULL,
  `resource_type` varchar(255) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `ix_secret_resource_resource_id_resource_type_secret_id` (`resource_id`,`resource_type`,`secret_id`),
  KEY `fk_secret_resource_secret_id_secret` (`secret_id`),
  CONSTRAINT `fk_secret_resource_secret_id_secret` FOREIGN KEY (`secret_id`) REFERENCES `secret` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `server_settings` (
  `id` char(32) NOT NULL,
  `server_name` varchar(255) NOT NULL,
  `logo_url` varchar(255) DEFAULT NULL,
  `active` tinyint(1) NOT NULL,
  `enable_analytics` tinyint(1) NOT NULL,
  `display_announcements` tinyint(1) DEFAULT NULL,
  `display_updates` tinyint(1) DEFAULT NULL,
  `onboarding_state` text DEFAULT NULL,
  `last_user_activity` datetime NOT NULL,
  `updated` datetime NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `service` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `project_id` char(32) NOT NULL,
  `user_id` char(32) DEFAULT NULL,
  `service_source` text DEFAULT NULL,
  `service_type` text NOT NULL,
  `type` text NOT NULL,
  `flavor` text NOT NULL,
  `admin_state` text DEFAULT NULL,
  `state` text DEFAULT NULL,
  `labels` blob DEFAULT NULL,
  `config` blob NOT NULL,
  `status` blob DEFAULT NULL,
  `endpoint` blob DEFAULT NULL,
  `prediction_url` text DEFAULT NULL,
  `health_check_url` text DEFAULT NULL,
  `pipeline_name` text DEFAULT NULL,
  `pipeline_step_name` text DEFAULT NULL,
  `model_version_id` char(32) DEFAULT NULL,
  `pipeline_run_id` char(32) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_service_project_id_project` (`project_id`),
  KEY `fk_service_user_id_user` (`user_id`),
  KEY `fk_service_model_version_id_model_version` (`model_version_id`),
  KEY `fk_service_pipeline_run_id_pipeline_run` (`pipeline_run_id`),
  CONSTRAINT `fk_service_model_version_id_model_version` FOREIGN KEY (`model_version_id`) REFERENCES `model_version` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_service_pipeline_run_id_pipeline_run` FOREIGN KEY (`pipeline_run_id`) REFERENCES `pipeline_run` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_service_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_service_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `service_connector` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `connector_type` text DEFAULT NULL,
  `description` varchar(255) NOT NULL,
  `auth_method` text DEFAULT NULL,
  `resource_types` blob NOT NULL,
  `resource_id` text DEFAULT NULL,
  `supports_instances` tinyint(1) NOT NULL,
  `configuration` blob DEFAULT NULL,
  `secret_id` char(32) DEFAULT NULL,
  `expires_at` datetime DEFAULT NULL,
  `expires_skew_tolerance` int(11) DEFAULT NULL,
  `expiration_seconds` int(11) DEFAULT NULL,
  `labels` blob DEFAULT NULL,
  `user_id` char(32) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_service_connector_name` (`name`),
  KEY `fk_service_connector_user_id_user` (`user_id`),
  CONSTRAINT `fk_service_connector_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `stack` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `description` varchar(255) DEFAULT NULL,
  `stack_spec_path` varchar(255) DEFAULT NULL,
  `labels` blob DEFAULT NULL,
  `environment` blob DEFAULT NULL,
  `user_id` char(32) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_stack_name` (`name`),
  KEY `fk_stack_user_id_user` (`user_id`),
  CONSTRAINT `fk_stack_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `stack_component` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `type` varchar(255) NOT NULL,
  `flavor` varchar(255) NOT NULL,
  `configuration` blob NOT NULL,
  `labels` blob DEFAULT NULL,
  `environment` blob DEFAULT NULL,
  `user_id` char(32) DEFAULT NULL,
  `connector_id` char(32) DEFAULT NULL,
  `connector_resource_id` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_component_name_and_type` (`name`,`type`),
  KEY `fk_stack_component_user_id_user` (`user_id`),
  KEY `fk_stack_component_connector_id_service_connector` (`connector_id`),
  CONSTRAINT `fk_stack_component_connector_id_service_connector` FOREIGN KEY (`connector_id`) REFERENCES `service_connector` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_stack_component_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `stack_composition` (
  `stack_id` char(32) NOT NULL,
  `component_id` char(32) NOT NULL,
  `default_for_type` varchar(255) DEFAULT NULL,
  PRIMARY KEY (`stack_id`,`component_id`),
  UNIQUE KEY `unique_default_stack_component_type` (`stack_id`,`default_for_type`),
  KEY `fk_stack_composition_component_id_stack_component` (`component_id`),
  CONSTRAINT `fk_stack_composition_component_id_stack_component` FOREIGN KEY (`component_id`) REFERENCES `stack_component` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_stack_composition_stack_id_stack` FOREIGN KEY (`stack_id`) REFERENCES `stack` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `step_configuration` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `index` int(11) NOT NULL,
  `name` varchar(255) NOT NULL,
  `config` mediumtext NOT NULL,
  `snapshot_id` char(32) DEFAULT NULL,
  `step_run_id` char(32) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_step_configuration_for_snapshot_or_step_run` (`snapshot_id`,`step_run_id`,`name`),
  KEY `ix_step_configuration_snapshot_id_name` (`snapshot_id`,`name`),
  KEY `ix_step_configuration_step_run_id` (`step_run_id`),
  CONSTRAINT `fk_step_configuration_snapshot_id_pipeline_snapshot` FOREIGN KEY (`snapshot_id`) REFERENCES `pipeline_snapshot` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_step_configuration_step_run_id_step_run` FOREIGN KEY (`step_run_id`) REFERENCES `step_run` (`id`) ON DELETE CASCADE,
  CONSTRAINT `ck_step_configuration_snapshot_step_run_exclusivity` CHECK (`snapshot_id` is null and `step_run_id` is not null or `snapshot_id` is not null and `step_run_id` is null)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `step_run` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `start_time` datetime DEFAULT NULL,
  `end_time` datetime DEFAULT NULL,
  `latest_heartbeat` datetime DEFAULT NULL,
  `status` varchar(255) NOT NULL,
  `docstring` text DEFAULT NULL,
  `cache_key` varchar(255) DEFAULT NULL,
  `cache_expires_at` datetime DEFAULT NULL,
  `source_code` text DEFAULT NULL,
  `code_hash` varchar(255) DEFAULT NULL,
  `version` int(11) NOT NULL,
  `is_retriable` tinyint(1) NOT NULL,
  `exception_info` mediumtext DEFAULT NULL,
  `heartbeat_threshold` int(11) DEFAULT NULL,
  `original_step_run_id` char(32) DEFAULT NULL,
  `snapshot_id` char(32) DEFAULT NULL,
  `pipeline_run_id` char(32) NOT NULL,
  `user_id` char(32) DEFAULT NULL,
  `project_id` char(32) NOT NULL,
  `model_version_id` char(32) DEFAULT NULL,
  `resource_request_id` char(32) DEFAULT NULL,
  `step_configuration` mediumtext DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_step_name_for_pipeline_run` (`name`,`pipeline_run_id`,`version`),
  KEY `fk_step_run_original_step_run_id_step_run` (`original_step_run_id`),
  KEY `fk_step_run_snapshot_id_pipeline_snapshot` (`snapshot_id`),
  KEY `fk_step_run_pipeline_run_id_pipeline_run` (`pipeline_run_id`),
  KEY `fk_step_run_user_id_user` (`user_id`),
  KEY `fk_step_run_model_version_id_model_version` (`model_version_id`),
  KEY `ix_step_run_project_id_pipeline_run_id_name_created_id` (`project_id`,`pipeline_run_id`,`name`,`created`,`id`),
  KEY `ix_step_run_cache_key` (`cache_key`),
  CONSTRAINT `fk_step_run_model_version_id_model_version` FOREIGN KEY (`model_version_id`) REFERENCES `model_version` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_step_run_original_step_run_id_step_run` FOREIGN KEY (`original_step_run_id`) REFERENCES `step_run` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_step_run_pipeline_run_id_pipeline_run` FOREIGN KEY (`pipeline_run_id`) REFERENCES `pipeline_run` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_step_run_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_step_run_snapshot_id_pipeline_snapshot` FOREIGN KEY (`snapshot_id`) REFERENCES `pipeline_snapshot` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_step_run_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `step_run_input_artifact` (
  `name` varchar(255) NOT NULL,
  `type` varchar(255) NOT NULL,
  `input_index` int(11) NOT NULL,
  `chunk_index` int(11) DEFAULT NULL,
  `chunk_size` int(11) DEFAULT NULL,
  `step_id` char(32) NOT NULL,
  `artifact_id` char(32) NOT NULL,
  PRIMARY KEY (`name`,`input_index`,`step_id`,`artifact_id`),
  KEY `fk_step_run_input_artifact_step_id_step_run` (`step_id`),
  KEY `fk_step_run_input_artifact_artifact_id_artifact_version` (`artifact_id`),
  CONSTRAINT `fk_step_run_input_artifact_artifact_id_artifact_version` FOREIGN KEY (`artifact_id`) REFERENCES `artifact_version` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_step_run_input_artifact_step_id_step_run` FOREIGN KEY (`step_id`) REFERENCES `step_run` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `step_run_output_artifact` (
  `name` varchar(255) NOT NULL,
  `step_id` char(32) NOT NULL,
  `artifact_id` char(32) NOT NULL,
  PRIMARY KEY (`step_id`,`artifact_id`),
  KEY `fk_step_run_output_artifact_artifact_id_artifact_version` (`artifact_id`),
  CONSTRAINT `fk_step_run_output_artifact_artifact_id_artifact_version` FOREIGN KEY (`artifact_id`) REFERENCES `artifact_version` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_step_run_output_artifact_step_id_step_run` FOREIGN KEY (`step_id`) REFERENCES `step_run` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `step_run_parents` (
  `parent_id` char(32) NOT NULL,
  `child_id` char(32) NOT NULL,
  PRIMARY KEY (`parent_id`,`child_id`),
  KEY `fk_step_run_parents_child_id_step_run` (`child_id`),
  CONSTRAINT `fk_step_run_parents_child_id_step_run` FOREIGN KEY (`child_id`) REFERENCES `step_run` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_step_run_parents_parent_id_step_run` FOREIGN KEY (`parent_id`) REFERENCES `step_run` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `tag` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `user_id` char(32) DEFAULT NULL,
  `color` varchar(255) NOT NULL,
  `exclusive` tinyint(1) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_tag_name` (`name`),
  KEY `fk_tag_user_id_user` (`user_id`),
  CONSTRAINT `fk_tag_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `tag_resource` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `tag_id` char(32) NOT NULL,
  `resource_id` char(32) NOT NULL,
  `resource_type` varchar(255) NOT NULL,
  PRIMARY KEY (`id`),
  KEY `fk_tag_resource_tag_id_tag` (`tag_id`),
  KEY `ix_tag_resource_resource_id_resource_type_tag_id` (`resource_id`,`resource_type`,`tag_id`),
  CONSTRAINT `fk_tag_resource_tag_id_tag` FOREIGN KEY (`tag_id`) REFERENCES `tag` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `trigger` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `active` tinyint(1) NOT NULL,
  `is_archived` tinyint(1) NOT NULL,
  `type` varchar(20) NOT NULL,
  `flavor` varchar(50) NOT NULL,
  `configuration` text NOT NULL,
  `concurrency` varchar(20) NOT NULL,
  `project_id` char(32) NOT NULL,
  `user_id` char(32) DEFAULT NULL,
  `webhook_id` char(32) DEFAULT NULL,
  `next_occurrence` datetime DEFAULT NULL,
  `source_entity` varchar(255) DEFAULT NULL,
  `target_events` text DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_trigger_name_in_project` (`name`,`project_id`),
  KEY `fk_trigger_project_id_project` (`project_id`),
  KEY `fk_trigger_user_id_user` (`user_id`),
  KEY `fk_trigger_webhook_id_webhook` (`webhook_id`),
  KEY `ix_trigger_flavor_next_occurrence` (`flavor`,`next_occurrence`),
  KEY `ix_trigger_flavor_source_entity` (`flavor`,`source_entity`),
  KEY `ix_trigger_type_webhook_id` (`type`,`webhook_id`),
  KEY `ix_trigger_type` (`type`),
  CONSTRAINT `fk_trigger_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_trigger_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL,
  CONSTRAINT `fk_trigger_webhook_id_webhook` FOREIGN KEY (`webhook_id`) REFERENCES `webhook` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `trigger_execution` (
  `trigger_id` char(32) NOT NULL,
  `pipeline_run_id` char(32) NOT NULL,
  `created_at` datetime NOT NULL,
  `info` text DEFAULT NULL,
  PRIMARY KEY (`trigger_id`,`pipeline_run_id`),
  UNIQUE KEY `unique_trigger_execution` (`trigger_id`,`pipeline_run_id`),
  KEY `fk_trigger_execution_pipeline_run_id_pipeline_run` (`pipeline_run_id`),
  CONSTRAINT `fk_trigger_execution_pipeline_run_id_pipeline_run` FOREIGN KEY (`pipeline_run_id`) REFERENCES `pipeline_run` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_trigger_execution_trigger_id_trigger` FOREIGN KEY (`trigger_id`) REFERENCES `trigger` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `trigger_snapshot` (
  `trigger_id` char(32) NOT NULL,
  `snapshot_id` char(32) NOT NULL,
  `created_at` datetime NOT NULL,
  `dispatch_state` text DEFAULT NULL,
  PRIMARY KEY (`trigger_id`,`snapshot_id`),
  UNIQUE KEY `unique_trigger_snapshot_link` (`trigger_id`,`snapshot_id`),
  KEY `fk_trigger_snapshot_snapshot_id_pipeline_snapshot` (`snapshot_id`),
  CONSTRAINT `fk_trigger_snapshot_snapshot_id_pipeline_snapshot` FOREIGN KEY (`snapshot_id`) REFERENCES `pipeline_snapshot` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_trigger_snapshot_trigger_id_trigger` FOREIGN KEY (`trigger_id`) REFERENCES `trigger` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `user` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `is_service_account` tinyint(1) NOT NULL,
  `full_name` varchar(255) NOT NULL,
  `description` text DEFAULT NULL,
  `email` varchar(255) DEFAULT NULL,
  `avatar_url` text DEFAULT NULL,
  `active` tinyint(1) NOT NULL,
  `password` varchar(255) DEFAULT NULL,
  `password_changed_at` datetime DEFAULT NULL,
  `activation_token` varchar(255) DEFAULT NULL,
  `email_opted_in` tinyint(1) DEFAULT NULL,
  `external_user_id` char(32) DEFAULT NULL,
  `is_admin` tinyint(1) NOT NULL,
  `user_metadata` varchar(255) DEFAULT NULL,
  `oidc_claims` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`oidc_claims`)),
  `default_project_id` char(32) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `name` (`name`,`is_service_account`),
  KEY `fk_user_default_project_id_project` (`default_project_id`),
  CONSTRAINT `fk_user_default_project_id_project` FOREIGN KEY (`default_project_id`) REFERENCES `project` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `webhook` (
  `id` char(32) NOT NULL,
  `created` datetime NOT NULL,
  `updated` datetime NOT NULL,
  `name` varchar(255) NOT NULL,
  `project_id` char(32) NOT NULL,
  `user_id` char(32) DEFAULT NULL,
  `secret_id` char(32) NOT NULL,
  `webhook_type` varchar(255) NOT NULL,
  `active` tinyint(1) NOT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `unique_webhook_name_in_project` (`project_id`,`name`),
  KEY `fk_webhook_user_id_user` (`user_id`),
  KEY `fk_webhook_secret_id_secret` (`secret_id`),
  KEY `ix_webhook_webhook_type` (`webhook_type`),
  CONSTRAINT `fk_webhook_project_id_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`id`) ON DELETE CASCADE,
  CONSTRAINT `fk_webhook_secret_id_secret` FOREIGN KEY (`secret_id`) REFERENCES `secret` (`id`),
  CONSTRAINT `fk_webhook_user_id_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `webhook_event_payload` (
  `webhook_id` char(32) NOT NULL,
  `delivery_id` varchar(255) NOT NULL,
  `created` datetime NOT NULL,
  `payload` longblob NOT NULL,
  PRIMARY KEY (`webhook_id`,`delivery_id`),
  CONSTRAINT `fk_webhook_event_payload_webhook_id_webhook` FOREIGN KEY (`webhook_id`) REFERENCES `webhook` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;

CREATE TABLE `webhook_stats` (
  `webhook_id` char(32) NOT NULL,
  `received_count` int(11) NOT NULL,
  `accepted_count` int(11) NOT NULL,
  `auth_failed_count` int(11) NOT NULL,
  `invalid_payload_count` int(11) NOT NULL,
  `last_received_at` datetime DEFAULT NULL,
  `last_accepted_at` datetime DEFAULT NULL,
  `last_error_at` datetime DEFAULT NULL,
  `last_error_summary` text DEFAULT NULL,
  PRIMARY KEY (`webhook_id`),
  CONSTRAINT `fk_webhook_stats_webhook_id_webhook` FOREIGN KEY (`webhook_id`) REFERENCES `webhook` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
