import pytest
from django.urls import reverse

from tests.factories import PersonFactory


@pytest.mark.django_db
def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content


@pytest.mark.django_db
def test_home_requires_sign_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_person_signs_in_with_email(client):
    PersonFactory(email="owner@example.test")
    response = client.post(reverse("login"), {"username": "owner@example.test", "password": "demo"})
    assert response.status_code == 302
    assert client.get(reverse("home"), follow=True).status_code == 200
