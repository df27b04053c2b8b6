"""Chinese labels for the codes stored in the database: the one place the UI looks them up."""

from __future__ import annotations

ROLE_LABELS = {
    "officer": "走访人员",
    "handler": "责任部门",
    "monitor": "监督员",
    "supervisor": "营商办",
    "admin": "管理员",
}

# A problem's missing sector or lead department, in figures grouped by them.
NO_SECTOR = "（未指明行业）"
NO_DEPARTMENT = "（未交办）"

DELIVERY_STATUS_LABELS = {"pending": "待发送", "sent": "已发送", "parked": "已搁置"}
CHANNEL_LABELS = {
    "email": "邮件",
    "wecom": "企业微信",
    "dingtalk": "钉钉",
    "sms": "短信",
    "webhook": "事件推送",
}

OUTCOME_LABELS = {
    "resolved": "已解决",
    "partial": "部分解决",
    "explained": "未能解决已解释",
    "ongoing": "长期推进",
}

FEEDBACK_KIND_LABELS = {
    "lead": "问题线索",
    "suggestion": "意见建议",
    "experience": "体验报告",
    "rating": "部门评价",
}

SOURCE_LABELS = {
    "visit": "走访",
    "monitor": "监督员",
    "hotline": "12345热线",
    "portal": "政务服务",
    "platform": "其他平台",
    "company": "企业自报",
}

VISIT_MODES = ("实地", "电话", "座谈", "线上")

AUDIT_ACTION_LABELS = {
    "insert": "新增",
    "update": "修改",
    "delete": "删除",
    "import": "导入",
    "signin": "登录",
    "signout": "退出",
    "restore": "恢复备份",
    "other": "其他",
}

# What rows of each table are called in messages and logs.
TABLE_LABELS = {
    "companies": "企业",
    "users": "用户",
    "sessions": "登录会话",
    "settings": "系统设置",
    "visits": "走访",
    "feedback": "监督反馈",
    "feedback_ratings": "部门评价",
    "problems": "问题",
    "problem_co_departments": "协办部门",
    "problem_categories": "问题类别",
    "districts": "区县/园区",
    "sectors": "行业",
    "departments": "部门",
    "indicators": "营商环境指标",
    "request_natures": "诉求性质",
    "deadline_classes": "办理时限",
    "satisfaction_levels": "满意度等级",
    "rating_dimensions": "评价维度",
    "department_aliases": "学到的部门名称",
    "plan_tasks": "任务清单的任务",
    "plan_task_departments": "任务的配合单位",
    "database": "数据库",
    "demo": "演示数据",
}
