"""A tiny transformers model built by the test, saved to a folder, loaded by the real `from_pretrained` code.

Random weights would answer noise, so the weights are wired by hand into a "bigram machine": the embedding is
one-hot, attention and MLP write nothing into the residual stream, and `lm_head` maps each token to the one
that follows it in `answer`. Greedy decoding then spells `answer` after the chat template's last token
("assistant"), whatever the prompt — a deterministic model that needs no download.
"""

from __future__ import annotations

import itertools
from pathlib import Path

CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + "
    "'\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL = ["<unk>", "<|im_start|>", "<|im_end|>"]
WORDS = ["system", "user", "assistant", "hello", "write", "json"]


def build_tiny_model(folder: Path, answer: list[str], *, context_length: int = 512, chat_template: bool = True) -> Path:
    """Save a tokenizer (word level, ChatML template) and a Llama model that answers `answer` (distinct words)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    assert len(set(answer)) == len(answer), "a bigram machine needs distinct words"
    vocab = {token: index for index, token in enumerate([*SPECIAL, *WORDS, *answer])}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="<unk>",
        eos_token="<|im_end|>",
        pad_token="<unk>",
        additional_special_tokens=["<|im_start|>"],
    )
    if chat_template:
        tokenizer.chat_template = CHATML_TEMPLATE
    tokenizer.save_pretrained(folder)

    hidden = 64
    assert len(vocab) <= hidden
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=context_length,
        tie_word_embeddings=False,
        bos_token_id=None,
        eos_token_id=vocab["<|im_end|>"],
        pad_token_id=vocab["<unk>"],
    )
    model = LlamaForCausalLM(config)
    chain = ["assistant", *answer, "<|im_end|>"]
    with torch.no_grad():
        model.model.embed_tokens.weight.zero_()
        for index in range(len(vocab)):
            model.model.embed_tokens.weight[index, index] = 1.0
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        model.lm_head.weight.zero_()
        for token, following in itertools.pairwise(chain):
            model.lm_head.weight[vocab[following], vocab[token]] = 10.0
        for token in vocab:  # anything else ends the answer
            if token not in chain[:-1]:
                model.lm_head.weight[vocab["<|im_end|>"], vocab[token]] = 10.0
    model.generation_config.eos_token_id = vocab["<|im_end|>"]
    model.generation_config.pad_token_id = vocab["<unk>"]
    model.save_pretrained(folder)
    return folder
