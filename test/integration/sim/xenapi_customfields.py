"""The calls XenCenter's custom fields and saved searches make (CustomFieldsManager.SaveCustomFields:
pool gui_config; SaveCustomFieldsAction: remove then add of other_config; Search.Save: remove then
add of gui_config), driven with the official XenAPI Python client.

argv: url cafile username password vm host sr; prints one JSON object with what it saw.
"""
import json
import sys

from xenapi_common import connect, failure

url, cafile, user, pwd, vm, host, sr = sys.argv[1:8]
session, api = connect(url, cafile, user, pwd, "xenpilot-customfields-test")
out = {}
pool = api.pool.get_all()[0]

defs = '<CustomFieldDefinitions><CustomFieldDefinition name="Owner" type="String" defaultValue="" /></CustomFieldDefinitions>'
api.pool.remove_from_gui_config(pool, "XenCenter.CustomFields")  # absent key: no error (XAPI)
api.pool.add_to_gui_config(pool, "XenCenter.CustomFields", defs)
out["defs"] = api.pool.get_gui_config(pool).get("XenCenter.CustomFields")
out["defs_dup"] = failure(api.pool.add_to_gui_config, pool, "XenCenter.CustomFields", defs)

key = "XenCenter.CustomFields.Owner"
for cls, ref in (("VM", vm), ("host", host), ("SR", sr), ("pool", pool)):
    c = getattr(api, cls)
    c.remove_from_other_config(ref, key)
    c.add_to_other_config(ref, key, "finance-" + cls)
    out["value_" + cls] = c.get_other_config(ref).get(key)
    out["dup_" + cls] = failure(c.add_to_other_config, ref, key, "x")
    c.remove_from_other_config(ref, key)
    out["gone_" + cls] = key not in c.get_other_config(ref)

out["bad_ref"] = failure(api.VM.add_to_other_config, "OpaqueRef:00000000-0000-0000-0000-000000000000", key, "x")

skey = "XenSearch.Search-0f1e2d3c-aaaa-bbbb-cccc-000000000001"
search = '<Search uuid="0f1e2d3c-aaaa-bbbb-cccc-000000000001" name="Finance" major_version="2" minor_version="0"><Query><QueryScope><VM /></QueryScope></Query></Search>'
api.pool.remove_from_gui_config(pool, skey)
api.pool.add_to_gui_config(pool, skey, search)
out["search"] = api.pool.get_gui_config(pool).get(skey) == search
api.pool.remove_from_gui_config(pool, skey)
out["search_gone"] = skey not in api.pool.get_gui_config(pool)
print(json.dumps(out))
