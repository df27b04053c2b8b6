"""The year's action plan (《"镇合意"优化营商环境行动方案》年度任务清单): tasks, monthly progress
reports and their review, the overview and the monthly bulletin (月度通报)."""
