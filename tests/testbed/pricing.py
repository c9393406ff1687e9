"""The AWS Price List Query API's GetProducts, which moto does not have: a small catalog of the
products `gwfargate cost --live` reads, in the API's shapes.

    POST (X-Amz-Target: AWSPriceListService.GetProducts)
         {"ServiceCode", "Filters": [{"Type": "TERM_MATCH", "Field", "Value"}], "FormatVersion",
          "NextToken", "MaxResults"}
    ->   {"FormatVersion": "aws_v1", "PriceList": ["<product document as JSON text>", ...],
          "NextToken"}

Each product document has `product` (`productFamily`, `sku`, `attributes`: `usagetype`,
`operation`, `regionCode`, `location`, ...) and `terms.OnDemand.<sku>.<offer term>.priceDimensions`
(`beginRange`, `endRange`, `unit`, `pricePerUnit.USD` as text)
(https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/price-changes.html,
https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html).
Usage types carry the region's code before them (`EUW1-`, older `EU-`; some of us-east-1's
none), as AWS's do; a filter matches an attribute exactly (TERM_MATCH), and a page holds at
most 3 products (AWS returns at most `MaxResults`, and may return fewer with a `NextToken`),
so a reader that stops at one page is caught. Decoys sit beside the products gwfargate wants (Spot usage, an
ALB's trust store, idle addresses, another region's), so a reader that matches loosely is
caught.

Some of the catalog's prices differ from gwfargate's shipped table (`MOVED`): list prices
change, and a test sees the live ones used.
"""
import json

# Prices AWS moved since gwfargate's table was transcribed (eu-west-1).
MOVED = {"fargate_vcpu_hour": 0.04656, "nat_hour": 0.052, "alb_hour": 0.0270}

_REGIONS = {
    # region: (location, usage prefixes of the EC2-family services, of the newer services)
    "eu-west-1": ("EU (Ireland)", "EU-", "EUW1-"),
    "us-east-1": ("US East (N. Virginia)", "", "USE1-"),
}

# (service, family, usage after the prefix, operation, newer prefix?, dimensions as
# (begin, end, USD per unit, unit)); prices are eu-west-1's, us-east-1's follow from _US.
_EU = [
    ("AmazonECS", "Compute", "Fargate-vCPU-Hours:perCPU", "", True, [("0", "Inf", MOVED["fargate_vcpu_hour"], "hours")]),
    ("AmazonECS", "Compute", "Fargate-GB-Hours", "", True, [("0", "Inf", 0.004445, "hours")]),
    ("AmazonECS", "Compute", "Fargate-ARM-vCPU-Hours:perCPU", "", True, [("0", "Inf", 0.03238, "hours")]),
    ("AmazonECS", "Compute", "Fargate-ARM-GB-Hours", "", True, [("0", "Inf", 0.00356, "hours")]),
    ("AmazonECS", "Compute", "Fargate-EphemeralStorage-GB-Hours", "", True, [("0", "Inf", 0.000111, "GB-Hours")]),
    ("AmazonECS", "Compute", "SpotUsage:Fargate-vCPU-Hours:perCPU", "", True, [("0", "Inf", 0.0127, "hours")]),
    ("AWSELB", "Load Balancer-Network", "LoadBalancerUsage", "LoadBalancing:Network", True, [("0", "Inf", 0.0252, "Hrs")]),
    ("AWSELB", "Load Balancer", "LCUUsage", "LoadBalancing:Network", True, [("0", "Inf", 0.006, "LCU-Hrs")]),
    ("AWSELB", "Load Balancer-Application", "LoadBalancerUsage", "LoadBalancing:Application", True,
     [("0", "Inf", MOVED["alb_hour"], "Hrs")]),
    ("AWSELB", "Load Balancer-Application", "LCUUsage", "LoadBalancing:Application", True, [("0", "Inf", 0.008, "LCU-Hrs")]),
    ("AWSELB", "Load Balancer-Application", "TS-LoadBalancerUsage", "LoadBalancing:Application", True,
     [("0", "Inf", 0.0056, "Hrs")]),
    ("AWSELB", "Load Balancer-Gateway", "LoadBalancerUsage", "LoadBalancing:Gateway", True, [("0", "Inf", 0.0135, "Hrs")]),
    ("AmazonEC2", "NAT Gateway", "NatGateway-Hours", "NatGateway", False, [("0", "Inf", MOVED["nat_hour"], "Hrs")]),
    ("AmazonEC2", "NAT Gateway", "NatGateway-Bytes", "NatGateway", False, [("0", "Inf", 0.048, "GB")]),
    ("AmazonVPC", "VpcEndpoint", "VpcEndpoint-Hours", "VpcEndpoint", False, [("0", "Inf", 0.011, "Hrs")]),
    ("AmazonVPC", "VpcEndpoint", "VpcEndpoint-Bytes", "VpcEndpoint", False,
     [("0", "1048576", 0.01, "GB"), ("1048576", "5242880", 0.006, "GB"), ("5242880", "Inf", 0.004, "GB")]),
    ("AmazonVPC", "", "PublicIPv4:InUseAddress", "", True, [("0", "Inf", 0.005, "Hrs")]),
    ("AmazonVPC", "", "PublicIPv4:IdleAddress", "", True, [("0", "Inf", 0.0051, "Hrs")]),
    ("AmazonCloudWatch", "Data Payload", "DataProcessing-Bytes", "PutLogEvents", False, [("0", "Inf", 0.57, "GB")]),
    ("AmazonCloudWatch", "Storage Snapshot", "TimedStorage-ByteHrs", "", False, [("0", "Inf", 0.03, "GB-Mo")]),
    ("AmazonApiGateway", "API Calls", "ApiGatewayRequest", "", False,
     [("0", "333000000", 0.0000035, "Requests"), ("333000000", "1000000000", 0.0000031, "Requests"),
      ("1000000000", "20000000000", 0.00000265, "Requests"), ("20000000000", "Inf", 0.0000016, "Requests")]),
    ("AWSDataTransfer", "Data Transfer", "DataTransfer-Out-Bytes", "", False,
     [("0", "100", 0.0, "GB"), ("100", "10240", 0.09, "GB"), ("10240", "51200", 0.085, "GB"),
      ("51200", "Inf", 0.07, "GB")]),
]
# us-east-1's, where they differ.
_US = {"Fargate-vCPU-Hours:perCPU": 0.04048, "LoadBalancerUsage": 0.0225, "NatGateway-Hours": 0.045,
       "NatGateway-Bytes": 0.045, "VpcEndpoint-Hours": 0.01, "DataProcessing-Bytes": 0.50}


def _catalog():
    products = []
    for region, (location, old, new) in _REGIONS.items():
        for i, (service, family, usage, operation, newer, dimensions) in enumerate(_EU):
            sku = f"{region.upper().replace('-', '')}{i:03d}"
            term = f"{sku}.JRTCKXETXF"
            prices = {}
            for j, (begin, end, usd, unit) in enumerate(dimensions):
                if region == "us-east-1" and usage in _US and usd > 0:
                    usd = _US[usage] if j == 0 or len(dimensions) == 1 else usd
                prices[f"{term}.{j:010d}"] = {
                    "rateCode": f"{term}.{j:010d}", "description": f"{usage} {begin}-{end}",
                    "beginRange": begin, "endRange": end, "unit": unit, "appliesTo": [],
                    "pricePerUnit": {"USD": f"{usd:.10f}"},
                }
            attributes = {"usagetype": (new if newer else old) + usage, "operation": operation,
                          "servicecode": service, "servicename": service}
            if service == "AWSDataTransfer":
                attributes.update(fromRegionCode=region, fromLocation=location, transferType="AWS Outbound",
                                  toLocation="External")
            else:
                attributes.update(regionCode=region, location=location)
            products.append({
                "product": {"productFamily": family, "sku": sku, "attributes": attributes},
                "serviceCode": service,
                "terms": {"OnDemand": {term: {"offerTermCode": "JRTCKXETXF", "sku": sku,
                                              "effectiveDate": "2026-11-01T00:00:00Z",
                                              "priceDimensions": prices, "termAttributes": {}}}},
                "version": "20261101000000", "publicationDate": "2026-11-01T00:00:00Z",
            })
    return products


CATALOG = _catalog()


def get_products(request: dict) -> tuple[int, dict]:
    """(status, body) of GetProducts."""
    service = request.get("ServiceCode")
    if not service:
        return 400, {"__type": "InvalidParameterException", "Message": "ServiceCode is required"}
    filters = request.get("Filters") or []
    for f in filters:
        if f.get("Type", "TERM_MATCH") != "TERM_MATCH":
            return 400, {"__type": "InvalidParameterException",
                         "Message": f"filter type {f.get('Type')} is not served by the test bed"}

    def matches(product):
        attributes = dict(product["product"]["attributes"], productFamily=product["product"]["productFamily"],
                          ServiceCode=product["serviceCode"])
        return product["serviceCode"] == service and all(attributes.get(f["Field"]) == f["Value"] for f in filters)

    found = [p for p in CATALOG if matches(p)]
    size = max(1, min(int(request.get("MaxResults") or 100), 3))
    start = int(request.get("NextToken") or 0)
    page = found[start:start + size]
    body = {"FormatVersion": "aws_v1", "PriceList": [json.dumps(p) for p in page]}
    if start + size < len(found):
        body["NextToken"] = str(start + size)
    return 200, body
