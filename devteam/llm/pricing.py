"""What a model's tokens cost: the config's `pricing:`, else 0 for a local server, else the genai-prices table.

genai-prices ships its price data inside the package (no network); it is asked only for hosted models, and
imported only then. A hosted model it does not know has an *unknown* price: the run says "cost unknown" rather
than a cost of $0, and a budget cannot be enforced for it.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from devteam.llm.usage import TOKENS_PER_MILLION, Price

if TYPE_CHECKING:
    from devteam.config.settings import LLMConfig

log = logging.getLogger("devteam.llm")

# Providers that never bill: a model on this machine, a person, or a recorded run.
FREE_API_TYPES = frozenset({"ollama", "human", "replay", "huggingface", "llama_cpp"})


def price_for(config: LLMConfig) -> Price:
    if "pricing" in config.model_fields_set:
        pricing = config.pricing
        return Price(
            prompt=pricing.prompt, completion=pricing.completion, cached_prompt=pricing.cached_prompt, source="config"
        )
    if config.api_type in FREE_API_TYPES or (config.api_type == "open_llm" and is_local_url(config.base_url)):
        return Price(source="local")
    return _listed_price(config.model or "", config.base_url)


def is_local_url(url: str | None) -> bool:
    """A server on this machine or the local network: what open_llm usually points at, and free."""
    if not url:
        return False
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "") or host.endswith((".local", ".lan", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." not in host  # a bare machine name on the local network
    return address.is_loopback or address.is_private or address.is_link_local


def _listed_price(model: str, base_url: str | None) -> Price:
    from genai_prices import Usage, calc_price  # imported only for hosted models

    # The server's URL names the provider when the table knows it (api.deepseek.com); a proxy or gateway it does
    # not know is priced by the model's name alone.
    for url in dict.fromkeys((base_url, None)):
        try:
            per_input = calc_price(Usage(input_tokens=TOKENS_PER_MILLION), model_ref=model, provider_api_url=url)
            per_output = calc_price(Usage(output_tokens=TOKENS_PER_MILLION), model_ref=model, provider_api_url=url)
            # A prompt token served from the provider's cache costs less where the table knows the discount.
            per_cached = calc_price(
                Usage(input_tokens=TOKENS_PER_MILLION, cache_read_tokens=TOKENS_PER_MILLION),
                model_ref=model,
                provider_api_url=url,
            )
        except LookupError:
            continue
        return Price(
            prompt=float(per_input.total_price),
            completion=float(per_output.total_price),
            cached_prompt=float(per_cached.total_price),
            source=f"genai-prices ({per_input.provider.name})",
        )
    log.info("price: no known price for model %r; cost unknown (set pricing: in config2.yaml)", model)
    return Price(known=False, source="unknown")


def describe_price(price: Price) -> str:
    if not price.known:
        return "unknown (a hosted model with no listed price: set pricing: in config2.yaml)"
    if price.source == "local":
        return "free (local server)"
    cached = (
        f"; ${price.cached_prompt:g} a cached prompt token" if price.cached_prompt not in (None, price.prompt) else ""
    )
    return f"${price.prompt:g} / ${price.completion:g} per 1M prompt / completion tokens, from {price.source}{cached}"
