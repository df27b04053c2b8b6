"""Functions that read what only a phone has: refused (or skipped, as the loader says) at upload,
saying what to do instead."""

DEVICE_FUNCTIONS = {
    "area": "area() 需要手机定位（geoshape），网页问卷不支持",
    "distance": "distance() 需要手机定位（geotrace），网页问卷不支持",
    "instance": "instance() 读取手机上的数据表，网页问卷不支持；请改用 choice_filter 或 select_one_from_file",
    "current": "current() 只用于 instance() 的路径中，网页问卷不支持",
    "version": "version() 读取手机上的表单版本，网页问卷不支持",
    "property": "property() 读取手机的设备信息，网页问卷不支持",
}
